"""Start our own daemons inside a test namespace and read what they trace.

Like :mod:`dhcp6.testing.peers` for real peers: files live in a run directory of the
test's, processes are ended by pid, readiness is a bound UDP port, waits are bounded.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..constants import CLIENT_PORT, SERVER_PORT
from ..control import request
from .peers import LabLike, PeerProcess, _launch, _prepare_run_dir, _wait_port

_POLL = 0.02


def start_dhcp6_server(
    lab: LabLike,
    node: str,
    ifaces: list[str] | str,
    run_dir: str | Path,
    config: str,
    *,
    name: str = "dhcp6-server",
    extra: list[str] | None = None,
    ready_timeout: float = 10.0,
) -> PeerProcess:
    """``dhcp6 server`` in ``node`` with ``config`` (YAML text); ready once it holds 547.

    Files: ``config``, ``leases`` (SQLite), ``trace`` (JSON lines), ``control`` (socket),
    ``log``. Starting it again with the same run_dir keeps the leases (a restart).
    """
    run = _prepare_run_dir(run_dir)
    files = {
        "config": run / f"{name}.yaml",
        "leases": run / f"{name}.sqlite",
        "trace": run / f"{name}.jsonl",
        "control": run / f"{name}.sock",
    }
    files["config"].write_text(config)
    argv = [sys.executable, "-m", "dhcp6.cli", "server", "--config", str(files["config"]),
            "--leases", str(files["leases"]), "--trace", str(files["trace"]),
            "--control", str(files["control"]), "--node", node, *(extra or [])]  # fmt: skip
    for i in [ifaces] if isinstance(ifaces, str) else ifaces:
        argv += ["--interface", i]
    peer = _launch(lab, node, name, argv, run, files)
    return _wait_port(peer, SERVER_PORT, ready_timeout)


def control(path: str | Path, cmd: str, timeout: float = 5.0, **args: Any) -> dict[str, Any]:
    """One request on a daemon's control socket."""
    return request(path, {"cmd": cmd, **args}, timeout)


def events(path: str | Path) -> list[dict[str, Any]]:
    p = Path(path)
    if not p.exists():
        return []
    out = []
    for line in p.read_text().splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:
                break  # a line being written
    return out


def wait_event(
    path: str | Path,
    match: Callable[[dict[str, Any]], bool] | None = None,
    *,
    timeout: float = 10.0,
    after: int = 0,
    **fields: Any,
) -> dict[str, Any]:
    """Poll a trace until an event (index ≥ ``after``) has ``fields`` and satisfies ``match``.

    Raises TimeoutError naming what was awaited and the last events seen.
    """
    deadline = time.monotonic() + timeout
    while True:
        evs = events(path)
        for e in evs[after:]:
            if all(e.get(k) == v for k, v in fields.items()) and (match is None or match(e)):
                return e
        if time.monotonic() >= deadline:
            tail = "\n".join(json.dumps(e) for e in evs[-8:])
            raise TimeoutError(
                f"no event {fields} in {path} within {timeout} s; last events:\n{tail}"
            )
        time.sleep(_POLL)


def start_dhcp6_client(
    lab: LabLike,
    node: str,
    iface: str,
    run_dir: str | Path,
    *,
    name: str = "dhcp6-client",
    extra: list[str] | None = None,
    ready_timeout: float = 10.0,
) -> PeerProcess:
    """``dhcp6 client`` in ``node``; ready once it holds UDP 546.

    Files: ``state`` (DUID, IAIDs), ``trace`` (JSON lines), ``log``.
    """
    run = _prepare_run_dir(run_dir)
    files = {"state": run / f"{name}-state", "trace": run / f"{name}.jsonl"}
    argv = [sys.executable, "-m", "dhcp6.cli", "client", "--interface", iface,
            "--state-dir", str(files["state"]), "--trace", str(files["trace"]),
            "--node", node, *(extra or [])]  # fmt: skip
    peer = _launch(lab, node, name, argv, run, files)
    return _wait_port(peer, CLIENT_PORT, ready_timeout)
