"""Packet captures of a lab's links with tcpdump, each inside the link's own namespace.

A LAN is captured on its bridge ``br0`` in the LAN's namespace (the bridge is
promiscuous while tcpdump runs, so it sees every frame any member sends); a
point-to-point link on its first endpoint's interface, in that node's namespace. The
pcaps are plain Ethernet captures with valid UDP checksums (the builder turns tx
checksum offload off), so Wireshark/tshark dissect DHCPv6 directly.

Used by :class:`lab.run.runtime.LabRuntime` (``pcap=True``: every link, started before
any engine) and by ``lab capture NAME LINK``.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Capture", "CaptureError", "capture_point", "start_capture"]


class CaptureError(Exception):
    """A capture could not start; one line."""


@dataclass
class Capture:
    link: str
    path: Path
    popen: subprocess.Popen
    log: Path

    def stop(self, timeout: float = 5.0) -> None:
        """Stop tcpdump (SIGINT: it flushes the pcap) and wait for it."""
        if self.popen.poll() is None:
            # `ip netns exec` execs tcpdump, so the pid is tcpdump's
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout)


def capture_point(lab_json: dict, link: str) -> tuple[str, str]:
    """(namespace, interface) where ``link`` is captured, from a built lab's ``lab.json``:
    a LAN on its bridge, a p2p link on its first endpoint, ``NODE:IFACE`` there."""
    lans = lab_json.get("lans") or {}
    if link in lans:
        return lans[link]["namespace"], lans[link].get("bridge", "br0")
    nodes = lab_json.get("nodes") or {}
    for node in nodes.values():  # the first endpoint in the topology's order
        for ifname, iface in (node.get("interfaces") or {}).items():
            if iface.get("link") == link:
                return node["namespace"], ifname
    name, sep, ifname = link.partition(":")
    if sep and name in nodes and ifname in (nodes[name].get("interfaces") or {ifname: 1}):
        return nodes[name]["namespace"], ifname
    known = sorted({*lans, *(i.get("link") for n in nodes.values()
                             for i in (n.get("interfaces") or {}).values())} - {None})  # fmt: skip
    raise CaptureError(
        f"lab {lab_json.get('lab', '?')} has no link {link!r} "
        f"(links: {', '.join(known) or 'none'}; or NODE:IFACE)"
    )


def start_capture(ns: str, iface: str, path: Path, *, link: str = "", count: int | None = None,
                  record: Path | None = None, ready_timeout: float = 10.0) -> Capture:  # fmt: skip
    """Start tcpdump in ``ns`` on ``iface`` writing ``path``; return once it is capturing.

    ``record``: a lab run directory whose ``pids`` file gets tcpdump's pid (so a
    crashed lab's ``lab clean`` stops it). Raises CaptureError (one line).
    """
    if shutil.which("tcpdump") is None:
        raise CaptureError("captures need tcpdump (Debian package tcpdump); run `make bootstrap`")
    path.parent.mkdir(parents=True, exist_ok=True)
    log = path.with_suffix(".tcpdump.log")
    argv = ["ip", "netns", "exec", ns, "tcpdump", "-i", iface, "-n", "-U", "--immediate-mode", "-Z", "root",
            "-w", str(path)]  # fmt: skip
    if count:
        argv += ["-c", str(count)]
    with open(log, "wb") as err:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                             start_new_session=True)  # fmt: skip
    if record is not None:
        from ..build.state import record_pid

        record_pid(record, p.pid, f"tcpdump:{link or iface}")
    deadline = time.monotonic() + ready_timeout
    while True:  # tcpdump says "listening on IF" once its socket is bound
        text = log.read_text(errors="replace")
        if "listening on" in text:
            return Capture(link or iface, path, p, log)
        if p.poll() is not None or time.monotonic() > deadline:
            if p.poll() is None:
                p.kill()
                p.wait(5)
            last = text.strip().splitlines()[-1] if text.strip() else f"exit code {p.returncode}"
            raise CaptureError(f"capture of {link or iface} ({ns}:{iface}) did not start: {last}")
        time.sleep(0.01)


def read_lab_json(run_dir: Path) -> dict:
    data = json.loads((run_dir / "lab.json").read_text())
    data.setdefault("lab", run_dir.name)
    return data
