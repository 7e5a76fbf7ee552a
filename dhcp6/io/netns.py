"""Run a function inside a named network namespace (Linux).

This is the hosting model of DESIGN.md ("Hosting"): an engine "runs inside a
namespace" when its sockets and netlink handles were *created* there. A socket stays
bound to the namespace it was created in for its whole life, whichever thread later
uses it, so one process can host engines of many namespaces on one asyncio loop::

    sock = run_in_netns("lab-c1", socket.socket, socket.AF_INET6, socket.SOCK_DGRAM)
    # sock belongs to lab-c1; use it from the loop thread like any socket.

How: ``fn`` runs on one long-lived worker thread that does ``setns(fd, CLONE_NEWNET)``
into ``/run/netns/<name>``, calls ``fn`` and returns to its home namespace. ``setns``
moves only the calling thread, so the rest of the process never changes namespace.

Things that resolve against the *calling thread's* namespace (and so must run inside
``fn``): creating sockets (also netlink), ``socket.if_nametoindex`` /
``if_nameindex``, ``/proc/sys/net/...``, and ``/proc/thread-self/net/...`` — note
``/proc/self/net`` and ``/proc/net`` follow the process's *main* thread, not this one.
"""

from __future__ import annotations

import ctypes
import errno
import os
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["NETNS_RUN_DIR", "DriverError", "NetnsError", "netns_path", "run_in_netns", "where"]

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


class _Worker:
    """One long-lived thread that enters namespaces on request and returns home after.

    Starting a thread per call cost 0.15 ms quiet and over 1 ms on a loaded machine;
    hosting hundreds of clients makes several calls each. The worker goes back to its
    home namespace after every call so that it never keeps a deleted namespace alive.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[
            tuple[str, Callable[..., Any], tuple, list, threading.Event]
        ] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def _main(self) -> None:
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        while True:
            netns, fn, args, outcome, done = self._jobs.get()
            try:
                _enter(netns)
                try:
                    outcome.append((True, fn(*args)))
                finally:
                    _setns(home)
            except BaseException as exc:
                outcome.append((False, exc))
            done.set()

    def call(self, netns: str, fn: Callable[..., T], args: tuple) -> T:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._main, name="netns-worker", daemon=True)
                self._thread.start()
        outcome: list[Any] = []
        done = threading.Event()
        self._jobs.put((netns, fn, args, outcome, done))
        done.wait()
        ok, value = outcome.pop()
        if ok:
            return value  # type: ignore[no-any-return]
        try:
            raise value
        finally:
            value = None  # break the frame ↔ traceback reference cycle


_worker = _Worker()


def where(netns: str | None) -> str:
    """How errors name a namespace."""
    return f"namespace {netns}" if netns else "the current namespace"


def run_in_netns(netns: str | None, fn: Callable[..., T], *args: Any) -> T:
    """Call ``fn(*args)`` inside network namespace ``netns``; return or raise what it does.

    ``netns`` is a name under ``/run/netns`` (what ``ip netns add`` creates) or a path
    such as ``/proc/PID/ns/net``; ``None`` calls ``fn`` right here, in the caller's
    namespace. Otherwise ``fn`` runs on the netns worker thread, which enters the
    namespace, calls it, and returns to its home namespace (calls are serialised; the
    calling thread never changes namespace). Raises :class:`NetnsError` when the
    namespace does not exist or cannot be entered; ``fn``'s own exceptions propagate
    unchanged. Blocks the caller until ``fn`` returns: keep ``fn`` short (open sockets,
    read a file), don't run a loop in it, and don't call run_in_netns from inside it.
    """
    if netns is None:
        return fn(*args)
    return _worker.call(netns, fn, args)
