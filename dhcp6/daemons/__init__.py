"""The `dhcp6` daemons: an engine, its driver and its files, as one process."""
