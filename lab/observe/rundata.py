"""A lab's run directory — or a folder of artefacts a failed test left — as data.

The folder holds ``traces/*.jsonl`` (or ``*.jsonl`` directly), and optionally
``runtime.json`` (name, epoch, time scale, topology source), ``lab.json`` (the builder's
record: node kinds, links), ``pcap/*.pcap``, and — in the artefacts of a failed test
(``lab.handle.Lab.save_artifacts``) — ``status.json`` and ``failure.txt``. Reading is lenient: a line that is not
JSON (a trace cut mid-line by a crash) is skipped and named in ``problems``, so a report
about a failure never fails itself.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model import CLIENT_KINDS, RELAY_KINDS, SERVER_KINDS

#: Messages a client sends, a server sends, and the relay wrappers (trace spelling).
CLIENT_MSGS = frozenset({"SOLICIT", "REQUEST", "CONFIRM", "RENEW", "REBIND", "RELEASE",
                         "DECLINE", "INFORMATION-REQUEST"})  # fmt: skip
SERVER_MSGS = frozenset({"ADVERTISE", "REPLY", "RECONFIGURE"})
RELAY_MSGS = frozenset({"RELAY-FORW", "RELAY-REPL"})
ROLE_ORDER = ("client", "relay", "server", "other")


def trace_files(folder: Path) -> list[Path]:
    """``folder/traces/*.jsonl``, else ``folder/*.jsonl``, sorted by name."""
    d = folder / "traces"
    files = sorted(d.glob("*.jsonl")) if d.is_dir() else []
    return files or sorted(folder.glob("*.jsonl"))


def read_events(paths: list[Path], problems: list[str] | None = None) -> list[dict[str, Any]]:
    """Every event of ``paths`` in time order (ties keep file, then line, order)."""
    events: list[dict[str, Any]] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            if problems is not None:
                problems.append(f"{path}: cannot read ({e.strerror or e})")
            continue
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                ev = json.loads(line)
            except json.JSONDecodeError as e:
                if problems is not None:
                    problems.append(f"{path.name}:{lineno}: not JSON ({e.msg}); line skipped")
                continue
            if not isinstance(ev, dict) or not isinstance(ev.get("t"), (int, float)):
                if problems is not None:
                    problems.append(f"{path.name}:{lineno}: not a trace event; line skipped")
                continue
            ev.setdefault("node", path.stem)
            events.append(ev)
    events.sort(key=lambda e: e["t"])
    return events


def kind_role(kind: str) -> str:
    if kind in CLIENT_KINDS:
        return "client"
    if kind in SERVER_KINDS:
        return "server"
    if kind in RELAY_KINDS:
        return "relay"
    return "other"


def infer_roles(
    events: list[dict[str, Any]], kinds: dict[str, str] | None = None
) -> dict[str, str]:
    """node → client | relay | server | other: from the topology's kinds where known,
    else from what each node does in the trace (relays send Relay-forward; servers
    handle messages or answer them; clients send client messages)."""
    kinds = kinds or {}
    seen: dict[str, set[str]] = {}
    for e in events:
        node = e.get("node")
        if not isinstance(node, str):
            continue
        marks = seen.setdefault(node, set())
        ev, msg = e.get("event"), e.get("msg")
        if (ev == "send" and msg == "RELAY-FORW") or (ev == "state" and e.get("seed") == "Relay"):
            marks.add("relay")
        elif (ev == "state" and "msg" in e and "to" not in e) or (
            ev == "state" and e.get("to") == "LISTEN"
        ):
            marks.add("server")
        elif (ev == "send" and msg in SERVER_MSGS | {"RELAY-REPL"}) or (
            ev == "recv" and msg == "RELAY-FORW"
        ):
            marks.add("answers")
        elif (ev == "send" and msg in CLIENT_MSGS) or (ev == "lease" and "server" in e):
            marks.add("client")
    roles: dict[str, str] = {}
    for node, marks in seen.items():
        if node in kinds:
            roles[node] = kind_role(kinds[node])
        elif "relay" in marks:
            roles[node] = "relay"
        elif "server" in marks or ("answers" in marks and "client" not in marks):
            roles[node] = "server"
        elif "client" in marks:
            roles[node] = "client"
        else:
            roles[node] = "other"
    for node, kind in kinds.items():
        roles.setdefault(node, kind_role(kind))
    return roles


def natural_key(name: str) -> tuple[Any, ...]:
    """c2 before c10."""
    out: list[Any] = []
    num = ""
    text = ""
    for ch in name:
        if ch.isdigit():
            if text:
                out.append((1, text))
                text = ""
            num += ch
        else:
            if num:
                out.append((0, int(num)))
                num = ""
            text += ch
    if num:
        out.append((0, int(num)))
    if text:
        out.append((1, text))
    return tuple(out)


def ordered_nodes(roles: dict[str, str]) -> list[str]:
    """Clients, relays, servers, others; each group in natural name order."""
    return sorted(roles, key=lambda n: (ROLE_ORDER.index(roles[n]) if roles[n] in ROLE_ORDER
                                        else len(ROLE_ORDER), natural_key(n)))  # fmt: skip


def infer_time_scale(events: list[dict[str, Any]]) -> float:
    """Protocol seconds per wall second, from the ``pt`` stamps (1.0 when there are none)."""
    spans: dict[str, list[tuple[float, float]]] = {}
    for e in events:
        if isinstance(e.get("pt"), (int, float)):
            spans.setdefault(e["node"], []).append((e["t"], e["pt"]))
    ratios = []
    for pts in spans.values():
        (t0, p0), (t1, p1) = pts[0], pts[-1]
        if t1 - t0 > 0.2:
            ratios.append((p1 - p0) / (t1 - t0))
    if not ratios:
        return 1.0
    r = statistics.median(ratios)
    return round(r) if r > 1.5 else round(r, 3)  # scales are whole numbers in practice


@dataclass
class Run:
    """What a view needs of one lab run."""

    name: str
    folder: Path | None
    events: list[dict[str, Any]]
    time_scale: float = 1.0
    epoch: float | None = None
    source: str | None = None
    kinds: dict[str, str] = field(default_factory=dict)
    links: dict[str, list[str]] = field(default_factory=dict)  # link → ["node:iface", …]
    pcaps: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    status: dict[str, Any] | None = None  # the supervisor's answer (or status.json)
    failure: str = ""  # failure.txt: why the test that left these artefacts failed

    @property
    def roles(self) -> dict[str, str]:
        return infer_roles(self.events, self.kinds)

    @property
    def t_end(self) -> float:
        last = self.events[-1]["t"] if self.events else 0.0
        if self.status and isinstance(self.status.get("t"), (int, float)):
            return max(last, float(self.status["t"]))
        return last


def _json(path: Path, problems: list[str]) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        problems.append(f"{path.name}: unreadable ({e}); ignored")
        return None
    return data if isinstance(data, dict) else None


def load_run(folder: str | Path, name: str | None = None) -> Run:
    """Read a run directory or an artefact folder; raises FileNotFoundError when it has
    no trace at all (the one thing every view needs)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such directory")
    files = trace_files(folder)
    if not files:
        raise FileNotFoundError(
            f"{folder}: no traces (expected {folder}/traces/*.jsonl or {folder}/*.jsonl)"
        )
    problems: list[str] = []
    events = read_events(files, problems)
    runtime = _json(folder / "runtime.json", problems) or {}
    labjson = _json(folder / "lab.json", problems) or {}
    kinds: dict[str, str] = {}
    links: dict[str, list[str]] = {}
    for node, info in (labjson.get("nodes") or {}).items():
        if isinstance(info, dict) and isinstance(info.get("kind"), str):
            kinds[node] = info["kind"]
            for iface, idata in (info.get("interfaces") or {}).items():
                if isinstance(idata, dict) and idata.get("link"):
                    links.setdefault(str(idata["link"]), []).append(f"{node}:{iface}")
    scale = runtime.get("time_scale")
    if not isinstance(scale, (int, float)) or scale <= 0:
        scale = infer_time_scale(events)
    status = _json(folder / "status.json", problems)
    failure = ""
    if (folder / "failure.txt").is_file():
        failure = (folder / "failure.txt").read_text(encoding="utf-8", errors="replace")
    pdir = folder / "pcap"
    pcaps = sorted([*pdir.glob("*.pcap"), *pdir.glob("*.pcapng")]) if pdir.is_dir() else []
    return Run(
        name=name or str(runtime.get("name") or labjson.get("lab") or folder.name),
        folder=folder,
        events=events,
        time_scale=float(scale),
        epoch=runtime.get("epoch") if isinstance(runtime.get("epoch"), (int, float)) else None,
        source=runtime.get("source") if isinstance(runtime.get("source"), str) else None,
        kinds=kinds,
        links=links,
        pcaps=pcaps,
        problems=problems,
        status=status if status and isinstance(status.get("nodes"), dict) else None,
        failure=failure.strip(),
    )
