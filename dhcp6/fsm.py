"""State diagrams drawn from the engines' own tables (so they cannot drift from the code).

``edges(role, vocabulary)`` gives (source, event, target) triples; ``mermaid`` and ``dot``
render them as text; ``dhcp6 fsm`` writes them (and SVG/PNG through Graphviz's ``dot``).
The seed vocabulary labels states with the original document's names.
"""

from __future__ import annotations

from .engine.client_table import SEED as CLIENT_SEED
from .engine.client_table import TRANSITIONS as CLIENT_TRANSITIONS
from .engine.relay import RELAY_TABLE
from .engine.server_table import transitions as server_transitions

ROLES = ("client", "server", "relay")
Edge = tuple[str, str, str]


def _client_label(state: str, vocabulary: str) -> str:
    if vocabulary == "seed":
        return f"{CLIENT_SEED[state]}\\n({state})"
    return state


def edges(role: str, vocabulary: str = "rfc") -> list[Edge]:
    if role == "client":
        return [(_client_label(t.source, vocabulary), t.event, _client_label(t.target, vocabulary))
                for t in CLIENT_TRANSITIONS]  # fmt: skip
    if role == "server":
        # the server's table is already in the seed document's vocabulary (Advertise, Reply…)
        return [(t.source, t.event, t.target) for t in server_transitions()]
    if role == "relay":
        out: list[Edge] = []
        for r in RELAY_TABLE:
            target = "Drop" if r.action.startswith("drop") else "Relay"
            out.append(("Listen", f"{r.received} on {r.on}", target))
            out.append((target, "done", "Listen"))
        return list(dict.fromkeys(out))
    raise ValueError(f"role {role!r}: one of {', '.join(ROLES)}")


def states(role: str, vocabulary: str = "rfc") -> list[str]:
    seen: dict[str, None] = {}
    for a, _, b in edges(role, vocabulary):
        seen.setdefault(a)
        seen.setdefault(b)
    return list(seen)


def initial(role: str, vocabulary: str = "rfc") -> str:
    return _client_label("INIT", vocabulary) if role == "client" else "Listen"


def _ids(role: str, vocabulary: str) -> dict[str, str]:
    return {s: f"s{i}" for i, s in enumerate(states(role, vocabulary))}


def mermaid(role: str, vocabulary: str = "rfc") -> str:
    ids = _ids(role, vocabulary)
    lines = ["stateDiagram-v2"]
    for s, i in ids.items():
        lines.append(f'    state "{s.replace(chr(92) + "n", " ")}" as {i}')
    lines.append(f"    [*] --> {ids[initial(role, vocabulary)]}")
    for a, ev, b in edges(role, vocabulary):
        lines.append(f"    {ids[a]} --> {ids[b]} : {ev.replace(':', ' -')}")
    return "\n".join(lines) + "\n"


def dot(role: str, vocabulary: str = "rfc") -> str:
    ids = _ids(role, vocabulary)
    lines = [
        f'digraph "dhcp6 {role}" {{',
        '    rankdir=LR; node [shape=box, style=rounded, fontname="Helvetica"];',
        '    edge [fontname="Helvetica", fontsize=10];',
        "    start [shape=point];",
        f"    start -> {ids[initial(role, vocabulary)]};",
    ]
    for s, i in ids.items():
        lines.append(f'    {i} [label="{s}"];')
    for a, ev, b in edges(role, vocabulary):
        label = ev.replace('"', "'")
        lines.append(f'    {ids[a]} -> {ids[b]} [label="{label}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"
