"""Run a topology's ``scenario:`` steps at their times, then check its ``expect:`` block.

Times. A step's ``at:`` is protocol seconds since the lab's start — the trace's ``t = 0``
— so with a time scale N the step runs at wall time ``at / N`` (without one, protocol and
wall seconds are the same). A step runs as soon as its time comes; a step whose time
has passed (an earlier step took long) runs at once and the delay is recorded.

Steps (each names one action, checked by lab/load/scenario.py)::

    - {at: 5s, kill: s1}               # also stop, start, restart; a name or a list
    - {at: 8s, link_down: access}      # link_up too; a link name or NODE:IFACE
    - {at: 9s, netem: {link: lan1, loss: 30, duplicate: 5}}   # all zero clears it
    - {at: 10s, reconfigure: s1}       # or {server: s1, client: c1, msg: renew}
    - {at: 20s, wait: 5s}              # the scenario lasts until 25 s
    - {at: 20s, wait: {node: c1, state: BOUND, within: 10s}}  # or event:/msg:/… fields

Expectations are checked once the last step has run. Each positive one — ``state``,
``lease_in``, ``renewed``, ``rebound``, ``seen``, ``reachable`` — is *awaited* (it must
become true within ``within`` protocol seconds, 30 by default, + 1 s of wall grace); then
``never_seen`` is checked over the whole trace. Counts are at-least counts (``renewed:
2`` = two or more Renew→Bound exchanges; ``renewed: false`` = none). Every failure names
the topology file and the line of the expectation, then shows the node's last states,
messages and leases.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from ipaddress import IPv6Network
from typing import Any

from .handle import WAIT_GRACE, Lab, LabAssertionError
from .matching import match_fields, msg_name

__all__ = ["EXPECT_WITHIN", "ExpectationFailed", "check_expectations", "run_scenario"]

#: How long (protocol seconds) a positive expectation may take to become true.
EXPECT_WITHIN = 30.0
POLL = 0.02


class ExpectationFailed(AssertionError):
    """One or more expectations failed; ``failures`` holds one message each."""

    def __init__(self, failures: list[str]) -> None:
        super().__init__("\n\n".join(failures))
        self.failures = failures


@dataclass
class StepResult:
    step: dict[str, Any]
    planned: float  # lab time (wall seconds since the epoch) it was due
    ran: float  # lab time it ran
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _names(v: Any) -> list[str]:
    return [v] if isinstance(v, str) else list(v)


def run_scenario(lab: Lab, steps: list[dict[str, Any]], *, source: str | None = None,
                 log: Any = None) -> list[StepResult]:  # fmt: skip
    """Run ``steps`` (``topology.scenario``) on ``lab`` at their times. A step that fails
    raises AssertionError naming ``source:line``; ``log(text)`` hears each step."""
    source = source or lab.topology.source
    scale = lab.time_scale
    results = []
    end = 0.0  # protocol time the scenario lasts until (a wait: extends it)
    for step in sorted(steps, key=lambda s: (s["at"], s.get("line", 0))):
        due = step["at"] / scale
        delay = due - lab.now()
        if delay > 0:
            time.sleep(delay)  # the scenario's own clock: the step is due then
        ran = lab.now()
        res = StepResult(step, due, ran)
        if log is not None:
            log(f"t={ran:.3f} {source}:{step.get('line', '?')}: {step['action']} {step['args']}")
        try:
            end = max(end, step["at"] + _run_step(lab, step))
        except LabAssertionError as e:
            raise AssertionError(f"{source}:{step.get('line', '?')}: scenario step "
                                 f"{step['action']}: {e}") from None  # fmt: skip
        except Exception as e:
            raise AssertionError(f"{source}:{step.get('line', '?')}: scenario step "
                                 f"{step['action']} {step['args']!r} failed: {e}") from e  # fmt: skip
        results.append(res)
    rest = end / scale - lab.now()
    if rest > 0:
        time.sleep(rest)  # `wait: 5s`: the scenario lasts that long
    return results


def _run_step(lab: Lab, step: dict[str, Any]) -> float:
    """Do one step; return how long (protocol seconds) it makes the scenario last."""
    action, args = step["action"], step["args"]
    if action in ("kill", "stop", "start", "restart"):
        for n in _names(args):
            getattr(lab, action)(n)
        return 0.0
    if action in ("link_down", "link_up"):
        for link in _names(args):
            getattr(lab, action)(link)
        return 0.0
    if action == "netem":
        a = dict(args)
        lab.netem(a.pop("link"), **a)
        return 0.0
    if action == "reconfigure":
        if isinstance(args, str):
            lab.reconfigure(args)
        else:
            a = dict(args)
            client = a.pop("client", None) or a.pop("clients", None)
            lab.reconfigure(a.pop("server"), client, msg=a.pop("msg", "renew"))
        return 0.0
    if action == "wait":
        if isinstance(args, (int, float)):
            return float(args)
        a = dict(args)
        within = a.pop("within", EXPECT_WITHIN)
        if isinstance(within, str):
            from .schema import parse_duration

            within = parse_duration(within)
        node = a.pop("node", None)
        lab.wait_for(node, a.pop("state", None), a.pop("event", None), within=float(within), **a)
        return 0.0
    raise ValueError(f"unknown scenario action {action!r}")


# ---------------------------------------------------------------------------- expect


def _count(lab: Lab, node: str, frm: str) -> int:
    return sum(
        1 for e in lab.events(node, "state") if e.get("from") == frm and e.get("to") == "BOUND"
    )


def _seen(lab: Lab, node: str, want: Any) -> list[dict[str, Any]]:
    """Messages the node sent or received that match ``want`` (a type or a field mapping)."""
    if isinstance(want, dict):
        f = {k: v for k, v in want.items() if k != "event"}
        kinds = (want["event"],) if "event" in want else ("send", "recv")
        return [e for e in lab.events(node) if e.get("event") in kinds and match_fields(e, f)]
    return [e for e in lab.events(node) if e.get("event") in ("send", "recv")
            and match_fields(e, {"msg": want})]  # fmt: skip


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _probe(lab: Lab, node: str, check: str, value: Any) -> str | None:
    """None when the expectation holds now, else what was found instead."""
    if check == "state":
        st = lab.state(node)
        return None if st == value else f"its state is {st or 'unknown (no state event)'}"
    if check == "lease_in":
        net = IPv6Network(value)
        leases = lab.leases(node)
        if any(x.within(net) for x in leases):
            return None
        return "its leases are " + (", ".join(x.value for x in leases) if leases else "none")
    if check in ("renewed", "rebound"):
        n = _count(lab, node, "RENEW" if check == "renewed" else "REBIND")
        want = 1 if value is True else (0 if value is False else int(value))
        if value is False or want == 0:
            return None if n == 0 else f"it {check} {n} time(s)"
        return None if n >= want else f"it {check} {n} time(s)"
    if check == "seen":
        missing = [_label(w) for w in _items(value) if not _seen(lab, node, w)]
        return None if not missing else "never saw " + ", ".join(missing)
    if check == "reachable":
        bad = []
        src = None
        leases = [x for x in lab.leases(node) if x.kind == "na"]
        if leases:
            src = leases[0].value
        for target in _items(value):
            try:
                r = lab.ping(node, target, count=1, timeout=1.0, source=src)
            except LabAssertionError as e:
                bad.append(f"{target}: {str(e).splitlines()[0]}")
                continue
            if not r.ok:
                bad.append(f"{target} ({r.dst}) did not answer"
                           + (f" from {src}" if src else ""))  # fmt: skip
        return None if not bad else "; ".join(bad)
    raise ValueError(f"unknown expectation {check!r}")


def _label(v: Any) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {x}" for k, x in v.items()) + "}"
    return str(msg_name(v))


def _text(check: str, value: Any) -> str:
    if isinstance(value, list):
        return f"{check}: [{', '.join(_label(v) for v in value)}]"
    if isinstance(value, dict):
        return f"{check}: {_label(value)}"
    if isinstance(value, bool):
        return f"{check}: {'true' if value else 'false'}"
    return f"{check}: {value}"


def check_expectations(lab: Lab, expect: dict[str, list[dict[str, Any]]], *,
                       source: str | None = None, within: float = EXPECT_WITHIN) -> None:  # fmt: skip
    """Check ``expect`` (``topology.expect``); raise ExpectationFailed naming each failed
    expectation's ``source:line`` with the node's recent history."""
    source = source or lab.topology.source
    pending = [(node, x) for node, checks in expect.items() for x in checks
               if x["check"] != "never_seen"
               and not (x["check"] in ("renewed", "rebound") and x["value"] in (False, 0))]  # fmt: skip
    deadline = time.monotonic() + within / lab.time_scale + WAIT_GRACE
    found: dict[int, str] = {}
    while pending:
        still = []
        for node, x in pending:
            why = _probe(lab, node, x["check"], x["value"])
            if why is not None:
                found[id(x)] = why
                still.append((node, x))
        pending = still
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(POLL if not any(x["check"] == "reachable" for _, x in pending) else 0.2)
    failures: list[tuple[int, str]] = []
    for node, x in pending:
        failures.append((x["line"], f"{source}:{x['line']}: {node}: expected {_text(x['check'], x['value'])} "
                        f"within {within:g} s, but {found[id(x)]}\n{lab.explain(node)}"))  # fmt: skip
    for node, checks in expect.items():  # negative ones: over the whole trace, at the end
        for x in checks:
            if x["check"] == "never_seen":
                hits = [(w, e) for w in _items(x["value"]) for e in _seen(lab, node, w)[:1]]
                if hits:
                    seen = ", ".join(
                        f"{_label(w)} ({e['event']} at t={e['t']:.3f})" for w, e in hits
                    )
                    failures.append((x["line"], f"{source}:{x['line']}: {node}: expected "
                                     f"{_text(x['check'], x['value'])}, but it saw {seen}\n"
                                     f"{lab.explain(node)}"))  # fmt: skip
            elif x["check"] in ("renewed", "rebound") and x["value"] in (False, 0):
                why = _probe(lab, node, x["check"], x["value"])
                if why is not None:
                    failures.append((x["line"], f"{source}:{x['line']}: {node}: expected "
                                     f"{_text(x['check'], x['value'])}, but {why}\n{lab.explain(node)}"))  # fmt: skip
    if failures:
        raise ExpectationFailed([text for _, text in sorted(failures, key=lambda f: f[0])])
