"""dhcp6-lab: the network-namespace emulation lab (topologies, builder, runtime)."""

import dhcp6  # noqa: F401 - first: its finder loads lab.sim's compiled modules (dhcp6/accel/)
