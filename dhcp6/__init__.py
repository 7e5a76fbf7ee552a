"""DHCPv6 (RFC 9915) protocol: wire codec, sans-IO engines, lease store, drivers.

The core (constants, wire, engines) has no Linux dependency; ``dhcp6.io`` holds the
asyncio and netlink drivers.
"""

from .wire import Message, ParseError, RelayMessage, decode, encode

__all__ = ["Message", "ParseError", "RelayMessage", "decode", "encode"]
