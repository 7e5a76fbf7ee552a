"""DHCPv6 (RFC 9915) protocol: wire codec, sans-IO engines, lease store, drivers.

The core (constants, wire, engines) has no Linux dependency; ``dhcp6.io`` holds the
asyncio and netlink drivers.
"""

from . import accel

accel.install()  # compiled copies of the hot modules, while current (dhcp6/accel/)

from .wire import Message, ParseError, RelayMessage, decode, encode  # noqa: E402

__all__ = ["Message", "ParseError", "RelayMessage", "decode", "encode"]
