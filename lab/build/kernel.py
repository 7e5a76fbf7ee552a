"""Thin wrappers over the Linux calls the builder needs: namespaces, mounts, sysctls,
the ethtool ioctl, and /proc facts about processes.

Everything here acts on the *calling thread*: ``unshare(CLONE_NEWNET)`` and ``setns``
move only that thread, and ``/proc/sys/net``, ``/proc/thread-self/ns/net`` and sockets
created afterwards resolve against the thread's namespace (``/proc/self/…`` would be the
main thread's — the mistake ``pyroute2.netns._create`` makes when called from a thread).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import signal
import struct
import time

__all__ = [
    "NETNS_RUN_DIR",
    "boot_id",
    "ensure_netns_dir",
    "get_tx_csum",
    "kill_pids",
    "pids_in_netns",
    "proc_start_time",
    "set_tx_csum",
    "setns_net",
    "unshare_net",
]

NETNS_RUN_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_SHARED = 1 << 20
MNT_DETACH = 2
SIOCETHTOOL = 0x8946
ETHTOOL_GTXCSUM = 0x16
ETHTOOL_STXCSUM = 0x17
CAP_NET_ADMIN = 12
CAP_SYS_ADMIN = 21

_libc = ctypes.CDLL(None, use_errno=True)
_libc.unshare.argtypes = (ctypes.c_int,)
_libc.setns.argtypes = (ctypes.c_int, ctypes.c_int)
_libc.mount.argtypes = (
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_void_p,
)
_libc.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)


def _oserror(what: str, path: str | None = None) -> OSError:
    err = ctypes.get_errno()
    return OSError(err, f"{what}: {os.strerror(err)}", path)


def unshare_net() -> None:
    """Move the calling thread into a new, anonymous network namespace."""
    if _libc.unshare(CLONE_NEWNET) != 0:
        raise _oserror("unshare(CLONE_NEWNET)")


def setns_net(fd: int) -> None:
    """Move the calling thread into the network namespace open as ``fd``."""
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        raise _oserror("setns(CLONE_NEWNET)")


def bind_thread_netns(path: str) -> None:
    """Bind-mount the calling thread's network namespace on ``path`` (an existing file)."""
    if _libc.mount(b"/proc/thread-self/ns/net", path.encode(), b"none", MS_BIND, None) != 0:
        raise _oserror(f"mount --bind on {path}", path)


def umount_detach(path: str) -> None:
    """Lazily unmount ``path``; EINVAL (not a mount point) and ENOENT are not errors."""
    if _libc.umount2(path.encode(), MNT_DETACH) != 0:
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOENT):
            raise OSError(err, f"umount {path}: {os.strerror(err)}", path)


_netns_dir_ready = False


def ensure_netns_dir() -> None:
    """Make /run/netns exist and be a shared mount point, as ``ip netns add`` does.

    Shared, so a namespace bind-mounted there stays visible to processes started later
    with a private mount namespace (``ip netns exec``) — iproute2's own logic.
    """
    global _netns_dir_ready
    if _netns_dir_ready:
        return
    os.makedirs(NETNS_RUN_DIR, mode=0o755, exist_ok=True)
    path = NETNS_RUN_DIR.encode()
    done = False
    while _libc.mount(b"", path, b"none", MS_SHARED | MS_REC, None) != 0:
        if done or ctypes.get_errno() != errno.EINVAL:
            raise _oserror(f"making {NETNS_RUN_DIR} a shared mount", NETNS_RUN_DIR)
        if _libc.mount(path, path, b"none", MS_BIND | MS_REC, None) != 0:
            raise _oserror(f"bind-mounting {NETNS_RUN_DIR} on itself", NETNS_RUN_DIR)
        done = True
    _netns_dir_ready = True


def write_sysctl(name: str, value: str) -> None:
    """Write ``net.ipv6.conf.default.accept_dad``-style ``name`` in this thread's namespace."""
    with open("/proc/sys/" + name.replace(".", "/"), "w") as f:
        f.write(value)


def read_sysctl(name: str) -> str:
    with open("/proc/sys/" + name.replace(".", "/")) as f:
        return f.read().strip()


# ---------------------------------------------------------------------------- ethtool

_IFREQ_PAD = b"\0" * (40 - struct.calcsize("16sP"))  # struct ifreq is 40 bytes on LP64


def _ethtool(fd: int, ifname: str, cmd: int, data: int) -> int:
    value = (ctypes.c_uint32 * 2)(cmd, data)
    ifreq = struct.pack("16sP", ifname.encode(), ctypes.addressof(value)) + _IFREQ_PAD
    fcntl.ioctl(fd, SIOCETHTOOL, ifreq)
    return value[1]


def set_tx_csum(fd: int, ifname: str, on: bool) -> None:
    """``ethtool -K IF tx on|off`` (ETHTOOL_STXCSUM) through socket ``fd``'s namespace.

    Off, the kernel also drops what depends on it (TSO, GSO of partial checksums), so
    every frame leaves the interface with its checksum filled in: captures are valid.
    """
    _ethtool(fd, ifname, ETHTOOL_STXCSUM, 1 if on else 0)


def get_tx_csum(fd: int, ifname: str) -> bool:
    """Whether tx checksum offload is on for ``ifname`` (ETHTOOL_GTXCSUM)."""
    return bool(_ethtool(fd, ifname, ETHTOOL_GTXCSUM, 0))


# ---------------------------------------------------------------------------- /proc


def proc_start_time(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (start time in clock ticks after boot); None if gone.

    A pid plus its start time names one process for the whole uptime: a reused pid
    has another start time. A zombie counts as gone.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()
    if not fields or fields[0] in (b"Z", b"X"):
        return None
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


_boot_id: str | None = None


def boot_id() -> str:
    """This boot's random id (a state file from before a reboot names no live process)."""
    global _boot_id
    if _boot_id is None:
        try:
            with open("/proc/sys/kernel/random/boot_id") as f:
                _boot_id = f.read().strip()
        except OSError:
            _boot_id = ""
    return _boot_id


def process_alive(pid: int, start_time: int, boot: str) -> bool:
    """Whether the process recorded as (pid, start_time, boot id) still runs."""
    if boot and boot_id() and boot != boot_id():
        return False
    return proc_start_time(pid) == start_time


def effective_caps() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return 0


def ns_id(path: str) -> tuple[int, int] | None:
    """(st_dev, st_ino) of a namespace file (a bind mount under /run/netns, /proc/…/ns/net)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def pids_in_netns(ids: set[tuple[int, int]]) -> list[int]:
    """Processes (not threads; not this one) whose network namespace is in ``ids``."""
    if not ids:
        return []
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        if pid == me:
            continue
        try:
            st = os.stat(f"/proc/{entry}/ns/net")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in ids:
            found.append(pid)
    return found


def kill_pids(pids: list[tuple[int, int | None]], grace: float = 1.0) -> list[int]:
    """SIGTERM each (pid, start time) that is still that process, SIGKILL after ``grace``.

    A ``None`` start time is read now (the pid was just found alive). Returns the pids
    that were signalled. Never signals a pid whose start time changed (reused pid).
    """
    targets = []
    for pid, start in pids:
        now = proc_start_time(pid)
        if now is None or (start is not None and now != start):
            continue
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            targets.append((pid, now))
    deadline = time.monotonic() + grace
    live = targets
    while live:
        live = [(p, s) for p, s in live if proc_start_time(p) == s]
        if not live or time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    for pid, start in live:
        if proc_start_time(pid) == start:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 2.0
    while live and time.monotonic() < deadline:
        live = [(p, s) for p, s in live if proc_start_time(p) == s]
        if live:
            time.sleep(0.01)
    return [p for p, _ in targets]
