"""Running labs: node processes and engines, the supervisor, real-peer observers."""
