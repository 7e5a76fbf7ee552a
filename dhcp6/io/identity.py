"""Persistent identities: a server's DUID-LLT kept beside its lease database."""

from __future__ import annotations

import fcntl
import os
import socket
import struct
import time
from pathlib import Path

from ..wire import Duid, DuidLL, DuidLLT, duid_from_hex
from ..wire.duid import DUID_EPOCH
from ..wire.errors import ParseError

HW_ETHERNET = 1


def load_or_create_duid(path: Path, mac: bytes | None, *, llt: bool = True) -> Duid:
    """The DUID stored in ``path`` (hex), or a new DUID-LLT (or -LL) written there first."""
    if path.exists():
        try:
            return duid_from_hex(path.read_text().strip())
        except (ValueError, ParseError) as e:
            raise ValueError(
                f"{path}: not a DUID ({e}); remove the file to make a new one"
            ) from None
    duid = new_duid(mac, llt=llt)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(duid.hex() + "\n")
    tmp.replace(path)
    return duid


def new_duid(mac: bytes | None, *, llt: bool = True) -> Duid:
    """A DUID-LLT (RFC 9915 §11.2) or DUID-LL from ``mac`` (random when there is none)."""
    lladdr = mac if mac else os.urandom(6)
    if llt:
        return DuidLLT(HW_ETHERNET, int(time.time()) - DUID_EPOCH & 0xFFFFFFFF, lladdr)
    return DuidLL(HW_ETHERNET, lladdr)


SIOCGIFHWADDR = 0x8927


def link_layer_address(ifname: str) -> bytes | None:
    """The interface's hardware address, asked of the kernel through a socket.

    Unlike /sys/class/net (which shows the namespace sysfs was mounted in), a socket
    answers for the namespace of the thread that made it: call this inside
    ``run_in_netns``. None when the interface has no hardware address.
    """
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
        try:
            res = fcntl.ioctl(s, SIOCGIFHWADDR, struct.pack("256s", ifname.encode()[:15]))
        except OSError:
            return None
    mac = res[18:24]
    return mac if any(mac) else None
