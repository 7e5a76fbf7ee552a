"""Real DHCPv6 peers (Kea, ISC dhcpd/dhclient/dhcrelay, dnsmasq, dhcpcd, WIDE dhcp6c,
perfdhcp) run inside network namespaces, for interop tests and benchmarks.

Every ``start_*`` function takes a lab (a :class:`~dhcp6.testing.netns.NetnsLab`, or any
object with ``popen(node, argv, **kw)`` and ``ns(node)``), the node, the interface(s)
and a run directory, renders the peer's configuration from a jinja2 template
(``dhcp6/testing/templates/*.j2``) into that directory, starts the peer in the
foreground with its log going to ``RUN_DIR/NAME.log``, and returns a
:class:`PeerProcess` once the peer is ready:

- a server or relay when it holds UDP port 547 inside its namespace;
- a client when it is alive and holds UDP port 546 (the lease comes later: wait for it
  with :func:`wait_for_address` or :meth:`PeerProcess.wait_for`).

Before starting, each waits for a usable link-local address on its interface(s): a
veth gets it asynchronously after link up, and a peer started earlier fails (dhclient:
"no link-local IPv6 address"; perfdhcp: "There is no address for interface") or, for
dhcpcd, adds its own fe80:: address and deletes it again on exit. Readiness is polled
(every 20 ms, bounded by ``ready_timeout``); a peer that exits or does not become ready
is stopped and reported with the end of its log.

Everything a peer writes lives in its run directory: config, lease file (which for
dhclient and dhcpd also holds the DUID), pid file, log, Kea's server-id and lock files.
Nothing is ever pointed at the host's /etc, /var/lib, /run or at a /dev path (dnsmasq
and dhclient replace such files by rename). Clients that insist on fixed paths run
with private mounts made inside ``ip netns exec`` (which gives each command its own
mount namespace, so the mounts vanish with the process): dhcpcd gets a tmpfs on /run
and the run directory on /var/lib/dhcpcd, dhcp6c the run directory on
/var/lib/dhcpv6. Hooks that edit host files are disabled (dhclient runs our own script
that only configures the address inside the namespace; dhcpcd runs ``/bin/true``).

Use one run directory per peer (or distinct ``name=`` values): file names are derived
from the peer's name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import json
import math
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import jinja2

__all__ = [
    "CLIENT_PORT",
    "PEER_BINARIES",
    "SERVER_PORT",
    "LabLike",
    "PeerError",
    "PeerProcess",
    "PerfdhcpResult",
    "PerfdhcpStats",
    "missing_binaries",
    "parse_perfdhcp",
    "port_bound_by",
    "require_binaries",
    "run_perfdhcp",
    "start_dhclient",
    "start_dhcp6c",
    "start_dhcpcd",
    "start_dhcpd6",
    "start_dhcrelay6",
    "start_dnsmasq",
    "start_kea",
    "wait_for_address",
]

#: Peer binaries and the Debian package that ships each.
PEER_BINARIES: dict[str, str] = {
    "kea-dhcp6": "kea-dhcp6-server",
    "perfdhcp": "kea-admin",
    "dnsmasq": "dnsmasq-base",
    "dhclient": "isc-dhcp-client",
    "dhcpd": "isc-dhcp-server",
    "dhcrelay": "isc-dhcp-relay",
    "dhcpcd": "dhcpcd-base",
    "dhcp6c": "wide-dhcpv6-client",
}

SERVER_PORT = 547
CLIENT_PORT = 546

_POLL = 0.02  # readiness polling interval (s)
_ADDR_POLL = 0.05  # address polling interval (s)
_SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_TEMPLATES = Path(__file__).with_name("templates")
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_TEMPLATES),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,
)


class PeerError(RuntimeError):
    """A peer could not be started or misbehaved; the message carries its log's end."""


class LabLike(Protocol):
    """What the peers need from a lab: start a process in a node, name its namespace."""

    def popen(self, node: str, argv: list[str], **kw: Any) -> subprocess.Popen: ...

    def ns(self, node: str) -> str: ...


# --------------------------------------------------------------------------- binaries


def _search_path() -> str:
    return os.pathsep.join([os.environ.get("PATH", ""), _SBIN_PATH])


def missing_binaries(names: Iterable[str] | None = None) -> list[str]:
    """The peer binaries (default: all of :data:`PEER_BINARIES`) not installed here."""
    path = _search_path()
    return [
        n for n in (PEER_BINARIES if names is None else names) if not shutil.which(n, path=path)
    ]


def require_binaries(*names: str) -> None:
    """Raise :class:`PeerError` naming the Debian packages to install for ``names``."""
    missing = missing_binaries(names)
    if missing:
        pkgs = sorted({PEER_BINARIES.get(n, n) for n in missing})
        raise PeerError(
            f"missing peer binaries: {', '.join(missing)} "
            f"(install with: apt-get install {' '.join(pkgs)})"
        )


def _binary(name: str) -> str:
    found = shutil.which(name, path=_search_path())
    if not found:
        require_binaries(name)
    return str(found)


# --------------------------------------------------------------------------- /proc helpers


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    return children


def _process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (a snapshot)."""
    children = _children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _udp_port_inodes(pid: int, port: int) -> set[int]:
    """Socket inodes of UDP sockets bound to ``port`` in ``pid``'s network namespace."""
    inodes: set[int] = set()
    for table in ("udp6", "udp"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(int(fields[9]))
    return inodes


def _socket_inodes(pids: Iterable[int]) -> set[int]:
    found: set[int] = set()
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                found.add(int(target[8:-1]))
    return found


def port_bound_by(pid: int, port: int) -> bool:
    """True when ``pid`` or one of its descendants holds a UDP socket bound to ``port``."""
    inodes = _udp_port_inodes(pid, port)
    return bool(inodes) and bool(inodes & _socket_inodes(_process_tree(pid)))


# --------------------------------------------------------------------------- the process


@dataclass
class PeerProcess:
    """A started peer: its process, run directory and files (``config``, ``log``, …)."""

    name: str
    node: str
    popen: subprocess.Popen
    run_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)  # monotonic start time

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        """Its stdout/stderr so far."""
        path = self.files.get("log")
        if path is None or not path.exists():
            return ""
        return path.read_text(errors="replace")

    def tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines of its log."""
        return "\n".join(self.log().splitlines()[-lines:])

    def read(self, key: str) -> str:
        """The text of one of its files (``"leases"``, ``"events"``, …); "" if absent."""
        path = self.files[key]
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_for(
        self, pattern: str | re.Pattern[str], *, file: str = "log", timeout: float = 10.0
    ) -> re.Match[str]:
        """Poll ``files[file]`` (default the log) until ``pattern`` matches; return the match.

        Raises ``TimeoutError`` (with the log's end) after ``timeout`` seconds, or
        :class:`PeerError` at once if the peer exits first.
        """
        rx = re.compile(pattern, re.M) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.read(file))
            if m:
                return m
            if not self.alive:
                m = rx.search(self.read(file))
                if m:
                    return m
                raise PeerError(
                    f"{self.describe()} exited (rc {self.popen.returncode}) before "
                    f"{rx.pattern!r} appeared in {self.files[file]}\n{self.tail()}"
                )
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"{self.describe()}: {rx.pattern!r} did not appear in "
                    f"{self.files[file]} within {timeout} s\n--- log tail ---\n{self.tail()}"
                )
            time.sleep(_ADDR_POLL)

    def describe(self) -> str:
        return f"{self.name} (pid {self.pid}) on node {self.node}"

    def stop(self, timeout: float = 5.0) -> int:
        """SIGTERM, wait up to ``timeout`` s, then SIGKILL; also ends leftover children.

        Signals go by pid only. Returns the exit code (negative: killed by a signal).
        Idempotent.
        """
        tree = _process_tree(self.pid) if self.alive else []
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    self.popen.kill()
                self.popen.wait(timeout=5)
        rest = [p for p in tree if p != self.pid and _pid_alive(p)]
        for pid in rest:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 1.0
        while rest and time.monotonic() < deadline:
            time.sleep(_POLL)
            rest = [p for p in rest if _pid_alive(p)]
        for pid in rest:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return self.popen.returncode

    def __enter__(self) -> PeerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- plumbing


def _render(template: str, dest: Path, mode: int | None = None, **ctx: Any) -> Path:
    dest.write_text(_env.get_template(template).render(**ctx))
    if mode is not None:
        dest.chmod(mode)
    return dest


def _prepare_run_dir(run_dir: str | os.PathLike[str]) -> Path:
    path = Path(run_dir).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _launch(
    lab: LabLike,
    node: str,
    name: str,
    argv: list[str],
    run_dir: Path,
    files: dict[str, Path],
    *,
    env: dict[str, str] | None = None,
) -> PeerProcess:
    log = run_dir / f"{name}.log"
    files = {**files, "log": log}
    full_env = {**os.environ, "PATH": _search_path(), **(env or {})}
    with open(log, "ab") as out:
        popen = lab.popen(
            node,
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=str(run_dir),
        )
    return PeerProcess(name=name, node=node, popen=popen, run_dir=run_dir, files=files, argv=argv)


def _wait_link_local(lab: LabLike, node: str, iface: str, timeout: float) -> str:
    """Wait until ``node:iface`` has a usable link-local address (peers bind to it).

    A veth gets its fe80:: address asynchronously after both ends are up; dhclient
    started before that exits at once ("no link-local IPv6 address for eth0") and
    Kea opens no socket on the interface.
    """
    link_local = getattr(lab, "link_local", None)
    if link_local is not None:
        return link_local(node, iface, timeout=timeout)
    deadline = time.monotonic() + timeout
    while True:
        res = subprocess.run(
            ["ip", "netns", "exec", lab.ns(node), "ip", "-6", "-j", "addr", "show", "dev", iface],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
        for link in json.loads(res.stdout or "[]"):
            for a in link.get("addr_info", []):
                if a.get("scope") == "link" and not (a.get("tentative") or a.get("dadfailed")):
                    return a["local"]
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"{node}:{iface} has no usable link-local address after {timeout} s "
                f"({res.stderr.strip() or 'is the link up on both ends?'})"
            )
        time.sleep(_POLL)


def _wait_port(peer: PeerProcess, port: int, timeout: float) -> PeerProcess:
    """Return ``peer`` once it holds UDP ``port``; stop it and raise if it cannot."""
    deadline = time.monotonic() + timeout
    while True:
        if not peer.alive:
            peer.stop()
            raise PeerError(
                f"{peer.describe()} exited with code {peer.popen.returncode} before binding "
                f"UDP port {port}; command: {' '.join(peer.argv)}\n"
                f"--- {peer.files['log']} ---\n{peer.tail(30)}"
            )
        with contextlib.suppress(OSError):
            if port_bound_by(peer.pid, port):
                return peer
        if time.monotonic() >= deadline:
            peer.stop()
            raise PeerError(
                f"{peer.describe()} did not bind UDP port {port} within {timeout} s; "
                f"command: {' '.join(peer.argv)}\n--- {peer.files['log']} ---\n{peer.tail(30)}"
            )
        time.sleep(_POLL)


def _split_range(text: str | Sequence[str]) -> tuple[str, str]:
    """``"a-b"``, ``"a,b"``, ``"a b"`` or ``(a, b)`` → two IPv6 address strings."""
    if isinstance(text, str):
        parts = [p for p in re.split(r"[\s,]+|(?<=[0-9a-fA-F:])-(?=[0-9a-fA-F:])", text) if p]
    else:
        parts = list(text)
    if len(parts) != 2:
        raise ValueError(f"address range {text!r}: expected 'FIRST-LAST'")
    first, last = (ipaddress.IPv6Address(p.strip()) for p in parts)
    if int(first) > int(last):
        raise ValueError(f"address range {text!r}: first address is after the last")
    return str(first), str(last)


@dataclass(frozen=True)
class _PdPool:
    prefix: str  # network address
    prefixlen: int
    delegated: int
    first: str  # first delegated prefix
    last: str  # last delegated prefix


def _pd_pool(pd_pool: tuple[str, int] | None) -> _PdPool | None:
    if pd_pool is None:
        return None
    net_text, delegated = pd_pool
    net = ipaddress.IPv6Network(net_text)
    if not net.prefixlen <= delegated <= 128:
        raise ValueError(f"pd_pool {pd_pool!r}: delegated length must be ≥ {net.prefixlen}")
    size = 1 << (128 - delegated)
    last = ipaddress.IPv6Address(int(net.broadcast_address) - size + 1)
    return _PdPool(str(net.network_address), net.prefixlen, delegated, str(net[0]), str(last))


def _option(name: str, data: Sequence[str] | str, always_send: bool = False) -> dict[str, Any]:
    value = data if isinstance(data, str) else ", ".join(data)
    opt: dict[str, Any] = {"name": name, "data": value}
    if always_send:
        opt["always-send"] = True
    return opt


# --------------------------------------------------------------------------- servers


def start_kea(
    lab: LabLike,
    node: str,
    iface: str,
    run_dir: str | os.PathLike[str],
    *,
    subnet: str = "2001:db8:1::/64",
    pool: str = "2001:db8:1::100-2001:db8:1::1ff",
    pd_pool: tuple[str, int] | None = ("2001:db8:8000::/48", 56),
    preferred: int = 3000,
    valid: int = 4000,
    t1: int | None = None,
    t2: int | None = None,
    rapid_commit: bool = False,
    preference: int | None = None,
    dns: Sequence[str] = ("2001:db8::53",),
    domain_search: Sequence[str] = ("lab.example",),
    relayed: bool = False,
    unicast: str | None = None,
    persist: bool = True,
    log_severity: str = "INFO",
    log_debuglevel: int = 0,
    name: str = "kea",
    ready_timeout: float = 10.0,
) -> PeerProcess:
    """Kea ``kea-dhcp6`` serving one subnet on ``iface``.

    ``relayed=True`` leaves the subnet without an interface: it is selected by the
    relay's link-address. Relays usually reach the server by unicast to a global
    address, which Kea only listens on when told: pass ``unicast=ADDRESS`` (an address
    on ``iface``) → ``"interfaces": ["IFACE/ADDRESS"]``. ``preference`` is sent with
    ``always-send`` (clients don't request option 7). ``persist=False`` keeps leases
    and the server-id in memory only. Files: ``config``, ``leases``, ``pid``, ``log``.
    """
    run = _prepare_run_dir(run_dir)
    files = {
        "config": run / f"{name}.json",
        "leases": run / f"{name}-leases6.csv",
        "pid": run / f"{name}.kea-dhcp6.pid",  # KEA_PIDFILE_DIR/<config stem>.kea-dhcp6.pid
    }
    options = []
    if dns:
        options.append(_option("dns-servers", dns))
    if domain_search:
        options.append(_option("domain-search", domain_search))
    if preference is not None:
        if not 0 <= preference <= 255:
            raise ValueError(f"start_kea: preference {preference} not in 0–255")
        options.append(_option("preference", str(preference), always_send=True))
    _render(
        "kea-dhcp6.json.j2",
        files["config"],
        interfaces=[f"{iface}/{unicast}" if unicast else iface],
        data_dir=str(run),
        persist=persist,
        leases=str(files["leases"]),
        preferred=preferred,
        valid=valid,
        t1=t1,
        t2=t2,
        options=options,
        subnet=str(ipaddress.IPv6Network(subnet)),
        interface=None if relayed else iface,
        rapid_commit=rapid_commit,
        pool=pool,
        pd_pool=_pd_pool(pd_pool),
        log_severity=log_severity,
        log_debuglevel=log_debuglevel,
    )
    json.loads(files["config"].read_text())  # a template bug shows here, not in Kea's log
    argv = [_binary("kea-dhcp6"), "-c", str(files["config"])]
    env = {"KEA_PIDFILE_DIR": str(run), "KEA_LOCKFILE_DIR": str(run)}
    _wait_link_local(lab, node, iface, ready_timeout)
    peer = _launch(lab, node, name, argv, run, files, env=env)
    return _wait_port(peer, SERVER_PORT, ready_timeout)


def start_dhcpd6(
    lab: LabLike,
    node: str,
    iface: str,
    run_dir: str | os.PathLike[str],
    *,
    subnet: str = "2001:db8:1::/64",
    range_: str | Sequence[str] = "2001:db8:1::100-2001:db8:1::1ff",
    pd_pool: tuple[str, int] | None = None,
    preferred: int = 3000,
    valid: int = 4000,
    rapid_commit: bool = False,
    preference: int | None = None,
    dns: Sequence[str] = ("2001:db8::53",),
    domain_search: Sequence[str] = ("lab.example",),
    name: str = "dhcpd6",
    ready_timeout: float = 10.0,
) -> PeerProcess:
    """ISC ``dhcpd -6 -f -d`` serving ``subnet`` on ``iface``.

    ``iface`` must carry an address inside ``subnet`` (dhcpd only serves a link it has
    a subnet6 for). The lease file (which also keeps the server DUID) is created empty
    first, as dhcpd requires. Files: ``config``, ``leases``, ``pid``, ``log``.
    """
    run = _prepare_run_dir(run_dir)
    files = {
        "config": run / f"{name}.conf",
        "leases": run / f"{name}.leases",
        "pid": run / f"{name}.pid",
    }
    first, last = _split_range(range_)
    _render(
        "dhcpd6.conf.j2",
        files["config"],
        valid=valid,
        preferred=preferred,
        dns=list(dns),
        domain_search=list(domain_search),
        preference=preference,
        rapid_commit=rapid_commit,
        subnet=str(ipaddress.IPv6Network(subnet)),
        range_first=first,
        range_last=last,
        pd_pool=_pd_pool(pd_pool),
    )
    files["leases"].touch()
    argv = [
        _binary("dhcpd"),
        "-6",
        "-f",
        "-d",
        "-cf",
        str(files["config"]),
        "-lf",
        str(files["leases"]),
        "-pf",
        str(files["pid"]),
        iface,
    ]
    _wait_link_local(lab, node, iface, ready_timeout)
    peer = _launch(lab, node, name, argv, run, files)
    return _wait_port(peer, SERVER_PORT, ready_timeout)


_DNSMASQ_MIN_LEASE = 120  # seconds; dnsmasq raises anything shorter to 2 minutes


def _dnsmasq_seconds(lease_time: str) -> int | None:
    m = re.fullmatch(r"(\d+)([smhdw]?)", lease_time.strip())
    if not m:
        return None
    mult = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]
    return int(m.group(1)) * mult


def start_dnsmasq(
    lab: LabLike,
    node: str,
    iface: str,
    run_dir: str | os.PathLike[str],
    *,
    range_: str | Sequence[str] = "2001:db8:1::100,2001:db8:1::1ff",
    prefixlen: int = 64,
    lease_time: str = "2m",
    dns: Sequence[str] = ("2001:db8::53",),
    domain_search: Sequence[str] = ("lab.example",),
    lease_max: int = 100_000,
    name: str = "dnsmasq",
    ready_timeout: float = 10.0,
) -> PeerProcess:
    """dnsmasq as a DHCPv6-only server (``port=0``: no DNS) on ``iface``.

    ``iface`` must carry an address inside the range's /``prefixlen``. ``lease_time``
    is dnsmasq's syntax (``"2m"``, ``"1h"``, ``"infinite"``); dnsmasq silently raises
    anything under 2 minutes, so shorter values are refused here. No prefix
    delegation. Files: ``config``, ``leases``, ``pid``, ``log``.
    """
    secs = _dnsmasq_seconds(lease_time)
    if lease_time != "infinite" and (secs is None or secs < _DNSMASQ_MIN_LEASE):
        raise ValueError(
            f"start_dnsmasq: lease_time {lease_time!r}: dnsmasq's minimum is 2m "
            "(it raises shorter times to 120 s); use e.g. '2m', '1h' or 'infinite'"
        )
    run = _prepare_run_dir(run_dir)
    files = {
        "config": run / f"{name}.conf",
        "leases": run / f"{name}.leases",
        "pid": run / f"{name}.pid",
    }
    first, last = _split_range(range_)
    _render(
        "dnsmasq.conf.j2",
        files["config"],
        iface=iface,
        pid=str(files["pid"]),
        leases=str(files["leases"]),
        lease_max=lease_max,
        range_first=first,
        range_last=last,
        prefixlen=prefixlen,
        lease_time=lease_time,
        dns=list(dns),
        domain_search=list(domain_search),
    )
    argv = [_binary("dnsmasq"), "--keep-in-foreground", f"--conf-file={files['config']}"]
    _wait_link_local(lab, node, iface, ready_timeout)
    peer = _launch(lab, node, name, argv, run, files)
    return _wait_port(peer, SERVER_PORT, ready_timeout)


def start_dhcrelay6(
    lab: LabLike,
    node: str,
    lower_iface: str,
    upper_iface: str,
    server: str,
    run_dir: str | os.PathLike[str],
    *,
    interface_id: bool = False,
    name: str = "dhcrelay6",
    ready_timeout: float = 10.0,
) -> PeerProcess:
    """ISC ``dhcrelay -6 -d -l LOWER -u SERVER%UPPER``.

    Clients are on ``lower_iface``; relay-forwards go to ``server`` (an address reached
    through ``upper_iface``). The link-address of its Relay-forward is the first global
    address on ``lower_iface`` — give it one inside the server's relayed subnet.
    ``interface_id=True`` adds the Interface-ID option (``-I``).
    Files: ``pid``, ``log``.
    """
    run = _prepare_run_dir(run_dir)
    files = {"pid": run / f"{name}.pid"}
    ipaddress.IPv6Address(server)
    argv = [_binary("dhcrelay"), "-6", "-d", "-pf", str(files["pid"])]
    if interface_id:
        argv.append("-I")
    argv += ["-l", lower_iface, "-u", f"{server}%{upper_iface}"]
    _wait_link_local(lab, node, lower_iface, ready_timeout)
    _wait_link_local(lab, node, upper_iface, ready_timeout)
    peer = _launch(lab, node, name, argv, run, files)
    return _wait_port(peer, SERVER_PORT, ready_timeout)


# --------------------------------------------------------------------------- clients


def start_dhclient(
    lab: LabLike,
    node: str,
    iface: str,
    run_dir: str | os.PathLike[str],
    *,
    na: bool = True,
    pd: bool = False,
    rapid_commit: bool = False,
    name: str = "dhclient",
    ready_timeout: float = 10.0,
) -> PeerProcess:
    """ISC ``dhclient -6 -d -v`` on ``iface`` with our own script (``-sf``).

    The script configures the leased address on ``iface`` and appends every call
    (reason and the ``new_*``/``old_*`` variables, e.g. ``new_ip6_prefix`` for PD)
    to ``files["events"]``; it never touches /etc/resolv.conf. The lease file (which
    also holds the client's DUID) is this client's own. ``pd=True`` asks for a prefix
    (``-P``; with ``na`` also ``-N``). Files: ``config``, ``leases``, ``pid``,
    ``script``, ``events``, ``log``.
    """
    if not (na or pd):
        raise ValueError("start_dhclient: ask for an address (na), a prefix (pd) or both")
    run = _prepare_run_dir(run_dir)
    files = {
        "config": run / f"{name}.conf",
        "leases": run / f"{name}.leases",
        "pid": run / f"{name}.pid",
        "script": run / f"{name}-script.sh",
        "events": run / f"{name}-script.events",
    }
    _render("dhclient6.conf.j2", files["config"], rapid_commit=rapid_commit)
    _render("dhclient-script.sh.j2", files["script"], mode=0o755, events=str(files["events"]))
    argv = [
        _binary("dhclient"),
        "-6",
        "-d",
        "-v",
        "-cf",
        str(files["config"]),
        "-pf",
        str(files["pid"]),
        "-lf",
        str(files["leases"]),
        "-sf",
        str(files["script"]),
    ]
    if na and pd:
        argv += ["-N", "-P"]
    elif pd:
        argv.append("-P")
    argv.append(iface)
    _wait_link_local(lab, node, iface, ready_timeout)
    peer = _launch(lab, node, name, argv, run, files)
    return _wait_port(peer, CLIENT_PORT, ready_timeout)


def start_dhcpcd(
    lab: LabLike,
    node: str,
    iface: str,
    run_dir: str | os.PathLike[str],
    *,
    nodelay: bool = True,
    na: bool = True,
    pd: bool = False,
    rapid_commit: bool = False,
    name: str = "dhcpcd",
    ready_timeout: float = 10.0,
) -> PeerProcess:
    """dhcpcd (``-6 -B -d``) on ``iface``, DHCPv6 only, no router solicitation.

    It runs as ``sh -c "mount tmpfs on /run; bind RUN_DIR/NAME-db on /var/lib/dhcpcd;
    exec dhcpcd …"`` inside the namespace's private mount namespace, so its pid file,
    control socket, DUID (``duid ll``: one per interface MAC, never the machine's
    shared DUID-UUID) and leases are all ours. Its hooks are off (``script
    /bin/true``). ``nodelay`` skips the initial random delay. Files: ``config``,
    ``db`` (its /var/lib/dhcpcd), ``log``.
    """
    run = _prepare_run_dir(run_dir)
    files = {"config": run / f"{name}.conf", "db": run / f"{name}-db"}
    files["db"].mkdir(exist_ok=True)
    _render(
        "dhcpcd.conf.j2",
        files["config"],
        iface=iface,
        nodelay=nodelay,
        na=na,
        pd=pd,
        rapid_commit=rapid_commit,
    )
    script = (
        'mount -t tmpfs -o mode=0755 tmpfs /run && mount --bind "$1" /var/lib/dhcpcd '
        '&& exec "$2" -6 -B -d -f "$3" "$4"'
    )
    argv = [
        "sh",
        "-c",
        script,
        "sh",
        str(files["db"]),
        _binary("dhcpcd"),
        str(files["config"]),
        iface,
    ]
    _wait_link_local(lab, node, iface, ready_timeout)
    peer = _launch(lab, node, name, argv, run, files)
    return _wait_port(peer, CLIENT_PORT, ready_timeout)


def start_dhcp6c(
    lab: LabLike,
    node: str,
    iface: str,
    run_dir: str | os.PathLike[str],
    *,
    na: bool = True,
    pd: bool = False,
    rapid_commit: bool = False,
    name: str = "dhcp6c",
    ready_timeout: float = 10.0,
) -> PeerProcess:
    """WIDE ``dhcp6c -f -D`` on ``iface``; /var/lib/dhcpv6 (its DUID) is bind-mounted
    from ``RUN_DIR/NAME-db`` in the command's private mount namespace.

    It configures leased addresses itself and runs no script. Files: ``config``,
    ``pid``, ``db``, ``log``.
    """
    run = _prepare_run_dir(run_dir)
    files = {
        "config": run / f"{name}.conf",
        "pid": run / f"{name}.pid",
        "db": run / f"{name}-db",
    }
    files["db"].mkdir(exist_ok=True)
    _render("dhcp6c.conf.j2", files["config"], iface=iface, na=na, pd=pd, rapid_commit=rapid_commit)
    script = 'mount --bind "$1" /var/lib/dhcpv6 && exec "$2" -f -D -c "$3" -p "$4" "$5"'
    argv = [
        "sh",
        "-c",
        script,
        "sh",
        str(files["db"]),
        _binary("dhcp6c"),
        str(files["config"]),
        str(files["pid"]),
        iface,
    ]
    _wait_link_local(lab, node, iface, ready_timeout)
    peer = _launch(lab, node, name, argv, run, files)
    return _wait_port(peer, CLIENT_PORT, ready_timeout)


# --------------------------------------------------------------------------- addresses


def _global_addresses(lab: LabLike, node: str, iface: str) -> list[str]:
    """Usable (not tentative, not DAD-failed) global IPv6 addresses on ``node:iface``."""
    addresses = getattr(lab, "addresses", None)
    if addresses is not None:
        out = []
        for a in addresses(node, iface):
            if a["flags"] & 0x48:  # IFA_F_TENTATIVE | IFA_F_DADFAILED
                continue
            if ipaddress.IPv6Address(a["address"]).is_link_local:
                continue
            out.append(a["address"])
        return out
    res = subprocess.run(
        ["ip", "netns", "exec", lab.ns(node), "ip", "-6", "-j", "addr", "show", "dev", iface],
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    )
    out = []
    for link in json.loads(res.stdout or "[]"):
        for a in link.get("addr_info", []):
            if a.get("scope") == "link" or a.get("tentative") or a.get("dadfailed"):
                continue
            out.append(a["local"])
    return out


def wait_for_address(
    lab: LabLike,
    node: str,
    iface: str,
    prefix: str,
    timeout: float = 10.0,
    *,
    peer: PeerProcess | None = None,
) -> str:
    """Poll (every 50 ms) until ``node:iface`` has a usable address inside ``prefix``.

    Returns the address. Raises ``TimeoutError`` after ``timeout`` seconds — or
    :class:`PeerError` as soon as ``peer`` (the client expected to configure it) has
    exited — with the addresses seen and the end of the peer's log.
    """
    net = ipaddress.IPv6Network(prefix)
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while True:
        seen = _global_addresses(lab, node, iface)
        for a in seen:
            if ipaddress.IPv6Address(a) in net:
                return a
        if peer is not None and not peer.alive:
            raise PeerError(
                f"{peer.describe()} exited (rc {peer.popen.returncode}) before an address "
                f"in {net} appeared on {node}:{iface}\n--- log tail ---\n{peer.tail()}"
            )
        if time.monotonic() >= deadline:
            break
        time.sleep(_ADDR_POLL)
    msg = (
        f"no address in {net} on {node}:{iface} within {timeout} s "
        f"(global addresses: {', '.join(seen) or 'none'})"
    )
    if peer is not None:
        msg += f"\n--- {peer.describe()} log tail ---\n{peer.tail()}"
    raise TimeoutError(msg)


# --------------------------------------------------------------------------- perfdhcp


@dataclass
class PerfdhcpStats:
    """One ``***Statistics for: SOLICIT-ADVERTISE***`` block (delays in ms)."""

    exchange: str
    sent: int = 0
    received: int = 0
    drops: int = 0
    drops_ratio: float = 0.0  # percent
    orphans: int = 0
    rejected_leases: int = 0
    non_unique_addresses: int = 0
    min_delay: float | None = None
    avg_delay: float | None = None
    max_delay: float | None = None
    std_deviation: float | None = None
    collected_packets: int = 0
    extra: dict[str, float] = field(default_factory=dict)


@dataclass
class PerfdhcpResult:
    """perfdhcp's final report, parsed; ``output`` keeps the raw text."""

    argv: list[str]
    returncode: int
    output: str
    elapsed: float  # wall-clock seconds the run took (test period + exit wait)
    period: float = 0.0  # the test period asked for (-p)
    rate: float | None = None  # perfdhcp's "Rate:" = exchanges / (period + exit wait)
    expected_rate: float | None = None
    malformed: int = 0
    exchanges: dict[str, PerfdhcpStats] = field(default_factory=dict)

    @property
    def sent(self) -> dict[str, int]:
        """Packets sent per type: ``{"SOLICIT": n, "REQUEST": n}``."""
        return {ex.split("-")[0]: s.sent for ex, s in self.exchanges.items()}

    @property
    def received(self) -> dict[str, int]:
        """Packets received per type: ``{"ADVERTISE": n, "REPLY": n}``."""
        return {ex.split("-", 1)[1]: s.received for ex, s in self.exchanges.items()}

    @property
    def drops(self) -> int:
        return sum(s.drops for s in self.exchanges.values())

    @property
    def completed(self) -> int:
        """Exchanges that finished (replies received in the last exchange step)."""
        if not self.exchanges:
            return 0
        return list(self.exchanges.values())[-1].received

    @property
    def initiated(self) -> int:
        """Exchanges started (Solicits sent)."""
        if not self.exchanges:
            return 0
        return next(iter(self.exchanges.values())).sent

    @property
    def all_completed(self) -> bool:
        """Every started exchange finished. Stronger than ``drops == 0``: an Advertise
        carrying NoAddrsAvail/NoPrefixAvail (pool exhausted) counts as received, gets no
        Request, and perfdhcp still reports 0 drops and exits 0."""
        return self.initiated > 0 and self.drops == 0 and self.completed == self.initiated

    @property
    def achieved_rate(self) -> float:
        """Completed exchanges per second of the test period (perfdhcp's own "Rate:"
        also divides by the exit wait, so it reads low)."""
        return self.completed / self.period if self.period else 0.0


_STAT_LINE = re.compile(r"^([a-z][a-z ]*?):\s*([-\d.eE+]+|nan|inf)\s*(ms|%)?\s*$")


def parse_perfdhcp(output: str) -> tuple[float | None, float | None, int, dict[str, PerfdhcpStats]]:
    """(rate, expected rate, malformed packets, {exchange: stats}) from perfdhcp's report."""
    rate = expected = None
    malformed = 0
    exchanges: dict[str, PerfdhcpStats] = {}
    current: PerfdhcpStats | None = None
    known = {f.name for f in dataclasses.fields(PerfdhcpStats)}
    for raw in output.splitlines():
        line = raw.strip()
        if m := re.match(r"Rate:\s*([\d.eE+-]+)\b.*?expected rate:\s*([\d.]+)", line):
            rate, expected = float(m.group(1)), float(m.group(2))
            continue
        if m := re.match(r"Malformed packets:\s*(\d+)", line):
            malformed = int(m.group(1))
            continue
        if m := re.match(r"\*\*\*Statistics for:\s*(.+?)\*\*\*", line):
            current = exchanges.setdefault(m.group(1), PerfdhcpStats(exchange=m.group(1)))
            continue
        if line.startswith("***"):
            current = None
            continue
        if current is None or not (m := _STAT_LINE.match(line)):
            continue
        key = m.group(1).replace(" ", "_")
        key = {"sent_packets": "sent", "received_packets": "received"}.get(key, key)
        value = float(m.group(2))
        if key.endswith(("_delay", "_deviation")) and not math.isfinite(value):
            value_or_none: float | None = None  # "inf"/"nan" when nothing was measured
            setattr(current, key, value_or_none)
            continue
        if key in known and key != "exchange":
            is_int = type(getattr(current, key)) is int
            setattr(current, key, int(value) if is_int else value)
        else:
            current.extra[key] = value
    return rate, expected, malformed, exchanges


def run_perfdhcp(
    lab: LabLike,
    node: str,
    iface: str,
    *,
    rate: int,
    seconds: float,
    clients: int,
    exchanges: Literal["4way", "2way", "rapid"] = "4way",
    mode: Literal["address", "prefix", "address-and-prefix"] = "address",
    server: str | None = None,
    exit_wait: float = 1.0,
    single_thread: bool = True,
    extra_args: Sequence[str] = (),
    timeout: float | None = None,
) -> PerfdhcpResult:
    """Run ``perfdhcp -6 -l IFACE -r RATE -R CLIENTS -p SECONDS -W … -g single`` in ``node``.

    ``exchanges``: ``"4way"`` (SARR), ``"2way"`` (Solicit/Advertise only, ``-i``),
    ``"rapid"`` (``-i -c``: Solicit with Rapid Commit). perfdhcp 2.2 aborts ("Packets
    exchange not specified", raised here as :class:`PeerError`) at the first Reply to a
    Solicit, so ``"rapid"`` only runs against a server that ignores Rapid Commit (it
    then counts Solicit/Advertise).
    ``mode`` picks the lease type (``-e``). ``server`` defaults to ff02::1:2.
    ``exit_wait`` is how long it keeps receiving after the last send (``-W``).
    Single-thread mode is the default because its receiver thread competes with the
    server on a 2-core machine. Exit code 3 (some exchange not completed) is not an
    error here: read ``drops``.
    """
    if rate <= 0 or seconds <= 0 or clients <= 0:
        raise ValueError("run_perfdhcp: rate, seconds and clients must be positive")
    lease_type = {
        "address": "address-only",
        "prefix": "prefix-only",
        "address-and-prefix": "address-and-prefix",
    }[mode]
    argv = [
        _binary("perfdhcp"),
        "-6",
        "-l",
        iface,
        "-r",
        str(rate),
        "-R",
        str(clients),
        "-p",
        f"{seconds:g}",
        "-W",
        str(int(exit_wait * 1_000_000)),
        "-e",
        lease_type,
    ]
    if single_thread:
        argv += ["-g", "single"]
    if exchanges == "2way":
        argv.append("-i")
    elif exchanges == "rapid":
        argv += ["-i", "-c"]
    elif exchanges != "4way":
        raise ValueError(f"run_perfdhcp: exchanges {exchanges!r}: use 4way, 2way or rapid")
    argv += list(extra_args)
    if server is not None:
        argv.append(server)
    if timeout is None:
        timeout = seconds + exit_wait + 15.0
    _wait_link_local(lab, node, iface, 10.0)
    start = time.monotonic()
    proc = lab.popen(
        node,
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PATH": _search_path()},
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        output, _ = proc.communicate(timeout=5)
        raise PeerError(
            f"perfdhcp on {node}:{iface} did not finish within {timeout} s\n{output[-3000:]}"
        ) from None
    elapsed = time.monotonic() - start
    if proc.returncode == 1 and "Packets exchange not specified" in output:
        raise PeerError(
            f"perfdhcp on {node}:{iface} aborted: perfdhcp (Kea 2.2) with -c stops at the "
            "first Reply to a Solicit ('Packets exchange not specified'), i.e. as soon as "
            "the server honours Rapid Commit; use exchanges='2way' or '4way' against a "
            f"server with rapid commit on\n{output[-1500:]}"
        )
    if proc.returncode not in (0, 3):
        raise PeerError(
            f"perfdhcp on {node}:{iface} failed (rc {proc.returncode}): {' '.join(argv)}\n"
            f"{output[-3000:]}"
        )
    r, expected, malformed, stats = parse_perfdhcp(output)
    if not stats:
        raise PeerError(f"perfdhcp printed no statistics (rc {proc.returncode}):\n{output}")
    return PerfdhcpResult(
        argv=argv,
        returncode=proc.returncode,
        output=output,
        elapsed=elapsed,
        period=float(seconds),
        rate=r,
        expected_rate=expected,
        malformed=malformed,
        exchanges=stats,
    )
