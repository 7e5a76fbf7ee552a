"""``lab sim --step``: advance a simulation event by event, for a class.

Commands, one a line on stdin (a terminal or a pipe)::

    (Enter)    the next event, and what it caused
    n 10       the next 10 events
    t 1h       jump to t = 1h (events run, quietly); t +10m jumps ahead
    s          the state of every node
    h / ?      this help
    q          quit (end of input quits too)
"""

from __future__ import annotations

import re
from typing import Any, TextIO

from .nodes import SimError
from .simulator import ARRIVE, CALL, STEP, TIMER, Simulator
from .summary import DURATION_UNITS, fmt_duration

HELP = ("Enter: next event · n N: N events · t 1h: jump to 1h (t +10m: ahead) · "
        "s: node states · q: quit")  # fmt: skip


def parse_duration(text: str) -> float:
    """``7d``, ``1h30m``, ``90s``, ``250ms``, ``1.5h`` or seconds → seconds."""
    s = str(text).strip().lower()
    try:
        return float(s)
    except ValueError:
        pass
    parts = re.findall(r"([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d|w)", s)
    if not parts or re.sub(r"([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d|w)", "", s).strip():
        raise ValueError(f"{text!r} is not a duration: write e.g. 90s, 10m, 1h, 7d, 1h30m")
    return sum(float(n) * DURATION_UNITS[u] for n, u in parts)


def describe_event(e: dict[str, Any]) -> str:
    """One trace event as a short line for people."""
    kind = e["event"]
    head = f"[{e['t']:>12.6f}] {e['node']:<8} "
    if kind == "state":
        if "from" in e or ("to" in e and "msg" not in e):
            extra = f" ({e['reason']})" if e.get("reason") else ""
            return (
                head + f"state  {e.get('from', '')}→{e.get('to', '')} [{e.get('seed', '')}]{extra}"
            )
        return head + f"state  {e.get('seed', '')}: {e.get('msg', '')}"
    if kind in ("send", "recv"):
        arrow = "→" if kind == "send" else "←"
        peer = e.get("to") or e.get("peer") or ""
        ia = " ".join(e.get("ia", []))
        inner = e.get("inner")
        what = e.get("msg", "")
        if inner:
            what += f"({inner.get('msg', '')})"
        xid = f" xid {e['xid']}" if "xid" in e else ""
        return head + f"{kind:<6} {what}{xid} {arrow} {peer}" + (f"  {ia}" if ia else "")
    if kind == "lease":
        what = e.get("address") or e.get("prefix") or ""
        life = f" {e['preferred']}/{e['valid']}s" if "valid" in e else ""
        return head + f"lease  {e.get('action')} {what}{life}"
    if kind == "timer":
        after = f" in {e['after']}s" if "after" in e else ""
        return head + f"timer  {e.get('action')} {e.get('name')}{after}"
    if kind == "address":
        return head + f"addr   {e.get('action')} {e.get('address')} on {e.get('iface', '')}"
    if kind == "drop":
        return head + f"drop   {e.get('msg', '')}: {e.get('reason', '')}"
    if kind == "error":
        return head + f"error  {e.get('message', '')}"
    return head + kind


def _what(item: tuple) -> str:
    _, _, kind, a, b = item
    if kind == TIMER:
        return f"timer {b} of {a.name}"
    if kind == ARRIVE:
        return f"datagram arrives at {a.node.name}:{a.name}"
    if kind == STEP:
        return f"scenario step {a['action']} {a['args']} (line {a.get('line', '?')})"
    if kind == CALL:
        return "a deadline"
    return "event"


def run_stepper(
    sim: Simulator, end: float, inp: TextIO, out: TextIO, *, prompt: bool = False
) -> None:
    """Read commands from ``inp`` and step ``sim`` (up to ``end``), printing to ``out``."""
    shown: list[dict[str, Any]] = []
    sim.trace.add_listener(shown.append)
    print(HELP, file=out)
    sim.begin()  # t = 0: nodes start

    def flush() -> None:
        for e in shown:
            print("  " + describe_event(e), file=out)
        shown.clear()

    flush()

    def one() -> bool:
        item = sim.step(until=end)
        if item is None:
            print(f"-- end of the run at t={fmt_duration(end)}: nothing more is due", file=out)
            return False
        print(f"t={item[0]:.6f}: {_what(item)}", file=out)
        flush()
        return True

    try:
        while True:
            if prompt:
                out.write(f"[t={sim.now:.6f}] > ")
                out.flush()
            line = inp.readline()
            if not line:
                break
            cmd = line.strip()
            if cmd in ("q", "quit", "exit"):
                break
            if cmd in ("h", "?", "help"):
                print(HELP, file=out)
            elif cmd in ("s", "status"):
                for name, row in sim.status()["nodes"].items():
                    leases = ", ".join(
                        x.get("address") or x.get("prefix", "") for x in row.get("leases", [])
                    )
                    print(f"  {name:<8} {row['kind']:<13} {row['process']:<8} {row.get('state', '')}"
                          + (f"  {leases}" if leases else ""), file=out)  # fmt: skip
            elif cmd == "":
                if not one():
                    break
            elif cmd.startswith("n"):
                try:
                    count = int(cmd[1:].strip() or "1")
                except ValueError:
                    print(f"?? {cmd!r}: n COUNT, e.g. n 10", file=out)
                    continue
                for _ in range(count):
                    if not one():
                        break
            elif cmd.startswith("t"):
                arg = cmd[1:].strip()
                try:
                    target = (
                        sim.now + parse_duration(arg[1:])
                        if arg.startswith("+")
                        else parse_duration(arg)
                    )
                except ValueError as e:
                    print(f"?? {e}", file=out)
                    continue
                target = min(target, end)
                before = sim.events
                shown.clear()
                sim.trace.remove_listener(shown.append)
                try:
                    sim.run_until(target)
                finally:
                    sim.trace.add_listener(shown.append)
                print(f"-- jumped to t={sim.now:.6f} ({sim.events - before:,} events)", file=out)
            else:
                print(f"?? {cmd!r}; {HELP}", file=out)
    except SimError as e:
        print(f"lab sim: {e}", file=out)
    finally:
        sim.trace.remove_listener(shown.append)
