"""Helpers for tests of dhcp6 code: network namespaces and the like (needs Linux and root)."""
