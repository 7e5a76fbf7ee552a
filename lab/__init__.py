"""dhcp6-lab: the network-namespace emulation lab (topologies, builder, runtime)."""
