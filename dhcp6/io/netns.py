"""Run a function inside a named network namespace (Linux).

This is the hosting model of DESIGN.md ("Hosting"): an engine "runs inside a
namespace" when its sockets and netlink handles were *created* there. A socket stays
bound to the namespace it was created in for its whole life, whichever thread later
uses it, so one process can host engines of many namespaces on one asyncio loop::

    sock = run_in_netns("lab-c1", socket.socket, socket.AF_INET6, socket.SOCK_DGRAM)
    # sock belongs to lab-c1; use it from the loop thread like any socket.

How: ``fn`` runs in a short-lived thread that did ``setns(fd, CLONE_NEWNET)`` into
``/run/netns/<name>`` first. ``setns`` moves only the calling thread, and that thread
ends after ``fn``, so the rest of the process never changes namespace and no thread is
ever "switched back".

Things that resolve against the *calling thread's* namespace (and so must run inside
``fn``): creating sockets (also netlink), ``socket.if_nametoindex`` /
``if_nameindex``, ``/proc/sys/net/...``, and ``/proc/thread-self/net/...`` — note
``/proc/self/net`` and ``/proc/net`` follow the process's *main* thread, not this one.
"""

from __future__ import annotations

import ctypes
import errno
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["NETNS_RUN_DIR", "DriverError", "NetnsError", "netns_path", "run_in_netns"]

NETNS_RUN_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000

T = TypeVar("T")


class DriverError(OSError):
    """Base of the I/O drivers' errors; ``str(e)`` is one line: what, where, what to do."""

    def __init__(self, message: str, errno_: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno_

    def __str__(self) -> str:
        return str(self.args[0])


class NetnsError(DriverError):
    """A namespace could not be entered (missing, or not enough privilege)."""


def netns_path(netns: str) -> str:
    """``/run/netns/<name>``; a name containing ``/`` is taken as a path (``/proc/PID/ns/net``)."""
    if not netns or netns in (".", ".."):
        raise NetnsError(f"network namespace name {netns!r} is not valid")
    return netns if "/" in netns else os.path.join(NETNS_RUN_DIR, netns)


_setns_impl: Callable[[int], None] | None = None


def _setns(fd: int) -> None:
    global _setns_impl
    if _setns_impl is None:
        if hasattr(os, "setns"):  # Python ≥ 3.12

            def impl(fd: int) -> None:
                os.setns(fd, CLONE_NEWNET)

        else:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.setns.argtypes = (ctypes.c_int, ctypes.c_int)

            def impl(fd: int) -> None:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, os.strerror(err))

        _setns_impl = impl
    _setns_impl(fd)


def _enter(netns: str) -> None:
    """Move the calling thread into ``netns``; raise NetnsError (one line) if we can't."""
    path = netns_path(netns)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NetnsError(
            f"network namespace {netns!r} does not exist (no {path}); "
            "create it (`ip netns add NAME`) or check the name (`ip netns list`)",
            errno.ENOENT,
        ) from None
    except PermissionError:
        raise NetnsError(
            f"cannot open network namespace {netns!r} ({path}): permission denied; "
            "run as root (or with CAP_SYS_ADMIN)",
            errno.EACCES,
        ) from None
    try:
        _setns(fd)
    except OSError as exc:
        if exc.errno == errno.EPERM:
            raise NetnsError(
                f"cannot enter network namespace {netns!r}: operation not permitted; "
                "run as root (or with CAP_SYS_ADMIN)",
                errno.EPERM,
            ) from None
        if exc.errno == errno.EINVAL:
            raise NetnsError(
                f"{path} is not a network namespace (setns: invalid argument); "
                "check the name (`ip netns list`)",
                errno.EINVAL,
            ) from None
        raise NetnsError(
            f"cannot enter network namespace {netns!r}: {exc.strerror}", exc.errno
        ) from None
    finally:
        os.close(fd)


def run_in_netns(netns: str | None, fn: Callable[..., T], *args: Any) -> T:
    """Call ``fn(*args)`` inside network namespace ``netns``; return or raise what it does.

    ``netns`` is a name under ``/run/netns`` (what ``ip netns add`` creates) or a path
    such as ``/proc/PID/ns/net``; ``None`` calls ``fn`` right here, in the caller's
    namespace, without a thread. Otherwise ``fn`` runs in a new thread that entered
    the namespace and ends afterwards (measured ≈ 0.3 ms a call). Raises :class:`NetnsError` when the
    namespace does not exist or cannot be entered; ``fn``'s own exceptions propagate
    unchanged. Blocks the caller until ``fn`` returns: keep ``fn`` short (open sockets,
    read a file), don't run a loop in it.
    """
    if netns is None:
        return fn(*args)
    outcome: list[Any] = []

    def body() -> None:
        try:
            _enter(netns)
            outcome.append((True, fn(*args)))
        except BaseException as exc:
            outcome.append((False, exc))

    thread = threading.Thread(target=body, name=f"netns:{netns}", daemon=True)
    thread.start()
    thread.join()
    ok, value = outcome.pop()
    if ok:
        return value
    try:
        raise value
    finally:
        value = None  # break the frame ↔ traceback reference cycle
