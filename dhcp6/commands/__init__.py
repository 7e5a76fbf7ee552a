"""One module per `dhcp6` verb; each has ``add_parser(subparsers)`` and ``run(args)``."""
