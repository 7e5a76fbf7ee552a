"""``scenario:`` (timed steps) and ``expect:`` (per-node checks), checked for shape.

Both keep the source line of every item, so a failed expectation can be reported as
``file:line`` by the pytest plugin:

- a step: ``{"at": 5.0, "action": "kill", "args": "s1", "line": 31}``
- an expectation: ``expect["c1"] == [{"check": "state", "value": "BOUND", "line": 40}, …]``
"""

from __future__ import annotations

from ipaddress import IPv6Address
from typing import Any

from ..schema import (
    ACTIONS,
    CLIENT_STATES,
    EXPECT_KEYS,
    IMPAIRMENT,
    MESSAGE_NAMES,
    Prefix,
    SpecError,
    allowed_hint,
    describe,
    did_you_mean,
    parse_duration,
)
from .context import Ctx
from .errors import short_list

_NODE_ACTIONS = ("kill", "stop", "start", "restart")
_LINK_ACTIONS = ("link_down", "link_up")


def _names(v: Any) -> list[Any] | None:
    if isinstance(v, str):
        return [v]
    if isinstance(v, list) and v:
        return v
    return None


def _node_ref(ctx: Ctx, path: tuple, name: Any) -> bool:
    if not isinstance(name, str):
        ctx.err(path, f"expected a node name, got {describe(name)}")
        return False
    if name not in ctx.names:
        ctx.err(
            path,
            f"no node {name!r}",
            did_you_mean(name, ctx.names) or f"nodes: {short_list(sorted(ctx.names), 8)}",
        )
        return False
    return True


def _link_ref(ctx: Ctx, path: tuple, ref: Any) -> bool:
    if not isinstance(ref, str):
        ctx.err(path, f"expected a link name or NODE:IFACE, got {describe(ref)}")
        return False
    if ref in ctx.links:
        return True
    node, sep, iface = ref.partition(":")
    if sep and node in ctx.nodes:
        if iface in ctx.nodes[node].interfaces:
            return True
        known = sorted(ctx.nodes[node].interfaces)
        ctx.err(
            path,
            f"{node} has no interface {iface!r}",
            did_you_mean(iface, known) or f"its interfaces: {', '.join(known)}",
        )
        return False
    if sep and node in ctx.names:
        return True  # a node with errors of its own
    ctx.err(
        path,
        f"no link {ref!r}",
        did_you_mean(ref, ctx.links)
        or f"links: {short_list(sorted(ctx.links), 8)} (or NODE:IFACE)",
    )
    return False


def read_scenario(ctx: Ctx) -> list[dict[str, Any]]:
    raw = ctx.doc.get(("scenario",))
    if raw is None:
        return []
    if not isinstance(raw, list):
        ctx.err(
            ("scenario",), f"expected a list of steps, got {describe(raw)}", "- {at: 5s, kill: s1}"
        )
        return []
    steps = []
    for i, step in enumerate(raw):
        path = ("scenario", i)
        if not isinstance(step, dict):
            ctx.err(path, f"expected a step like {{at: 5s, restart: s1}}, got {describe(step)}")
            continue
        ok = True
        at = None
        if "at" not in step:
            ctx.err(path, "a step needs at: (when it happens)", "e.g. at: 5s")
            ok = False
        else:
            try:
                at = parse_duration(step["at"])
            except SpecError as e:
                ctx.spec_err((*path, "at"), e)
                ok = False
        actions = []
        for k in step:
            if k == "at":
                continue
            if k in ACTIONS:
                actions.append(k)
            else:
                ctx.err((*path, k), f"unknown action {k!r}", allowed_hint(k, ACTIONS, "actions"))
                ok = False
        if not actions:
            if ok:
                ctx.err(path, "a step needs an action", "one of " + ", ".join(ACTIONS))
            continue
        if len(actions) > 1:
            ctx.err(
                (*path, actions[1]),
                f"a step has exactly one action, this one has {', '.join(actions)}",
                "split it into steps with the same at:",
            )
            continue
        action = actions[0]
        args = _check_action(ctx, (*path, action), action, step[action])
        if ok and args is not _BAD:
            steps.append({"at": at, "action": action, "args": args, "line": ctx.doc.line(path)})
    return steps


_BAD: Any = object()


def _check_action(ctx: Ctx, path: tuple, action: str, v: Any) -> Any:
    if action in _NODE_ACTIONS or action in _LINK_ACTIONS:
        names = _names(v)
        if names is None:
            what = "a node name" if action in _NODE_ACTIONS else "a link name or NODE:IFACE"
            ctx.err(path, f"expected {what} or a list of them, got {describe(v)}")
            return _BAD
        check = _node_ref if action in _NODE_ACTIONS else _link_ref
        good = all(
            [
                check(ctx, (*path, j) if isinstance(v, list) else path, n)
                for j, n in enumerate(names)
            ]
        )
        return v if good else _BAD
    if action == "reconfigure":
        server = v.get("server") if isinstance(v, dict) else v
        spath = (*path, "server") if isinstance(v, dict) else path
        if not isinstance(server, str):
            ctx.err(path, f"expected a server node name or {{server: NAME, …}}, got {describe(v)}")
            return _BAD
        if not _node_ref(ctx, spath, server):
            return _BAD
        node = ctx.nodes.get(server)
        if node is not None and node.kind != "dhcp6-server":
            ctx.err(
                spath,
                f"{server} is a {node.kind}: only a dhcp6-server sends Reconfigure",
                "name a dhcp6-server node",
            )
            return _BAD
        return v
    if action == "wait":
        if isinstance(v, dict):
            return v
        try:
            return parse_duration(v)
        except SpecError as e:
            ctx.err(path, e.problem, "wait: 5s, or a mapping describing what to wait for")
            return _BAD
    if action == "netem":
        if not isinstance(v, dict):
            ctx.err(
                path,
                f"expected {{link: NAME, loss: %, delay: 100ms, duplicate: %}}, got {describe(v)}",
            )
            return _BAD
        if "link" not in v:
            ctx.err(
                path,
                "netem needs link: (a link name or NODE:IFACE)",
                "e.g. netem: {link: lan1, loss: 20}",
            )
            return _BAD
        if not _link_ref(ctx, (*path, "link"), v["link"]):
            return _BAD
        try:
            imp = IMPAIRMENT.check({k: x for k, x in v.items() if k != "link"})
        except SpecError as e:
            ctx.spec_err(path, e)
            return _BAD
        return {"link": v["link"], **imp}
    return v  # pragma: no cover - ACTIONS is covered above


def read_expect(ctx: Ctx) -> dict[str, list[dict[str, Any]]]:
    raw = ctx.doc.get(("expect",))
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        ctx.err(
            ("expect",),
            f"expected a mapping of node names to checks, got {describe(raw)}",
            "expect: {c1: {state: BOUND}}",
        )
        return {}
    out: dict[str, list[dict[str, Any]]] = {}
    for node, checks in raw.items():
        path = ("expect", node)
        if not _node_ref(ctx, path, node):
            continue
        if not isinstance(checks, dict):
            ctx.err(
                path,
                f"expected a mapping of checks, got {describe(checks)}",
                "e.g. c1: {state: BOUND}",
            )
            continue
        items = []
        for key, value in checks.items():
            kpath = (*path, key)
            if key not in EXPECT_KEYS:
                ctx.err(
                    kpath,
                    f"unknown expectation {key!r}",
                    allowed_hint(key, EXPECT_KEYS, "expectations"),
                )
                continue
            v = _check_expect(ctx, kpath, key, value)
            if v is not _BAD:
                items.append({"check": key, "value": v, "line": ctx.doc.line(kpath)})
        out[node] = items
    return out


def _message(ctx: Ctx, path: tuple, v: Any) -> Any:
    if not isinstance(v, str):
        ctx.err(path, f"expected a message type, got {describe(v)}")
        return _BAD
    name = v.strip().upper().replace("_", "-")
    if name not in MESSAGE_NAMES:
        ctx.err(
            path, f"{v!r} is not a DHCPv6 message type", allowed_hint(name, MESSAGE_NAMES, "types")
        )
        return _BAD
    return name


def _check_expect(ctx: Ctx, path: tuple, key: str, v: Any) -> Any:
    if key == "state":
        if not isinstance(v, str) or v.strip().upper() not in CLIENT_STATES:
            hint = allowed_hint(str(v).upper(), CLIENT_STATES, "states")
            ctx.err(path, f"{describe(v)} is not a client state", hint)
            return _BAD
        return v.strip().upper()
    if key == "lease_in":
        try:
            return Prefix().check(v)
        except SpecError as e:
            ctx.spec_err(path, e)
            return _BAD
    if key in ("renewed", "rebound"):
        if isinstance(v, bool) or (isinstance(v, int) and v >= 0):
            return v
        ctx.err(path, f"expected true/false or a count, got {describe(v)}")
        return _BAD
    if key in ("seen", "never_seen"):
        if isinstance(v, dict):
            return v
        if isinstance(v, list):
            out = [_message(ctx, (*path, j), x) for j, x in enumerate(v)]
            return _BAD if _BAD in out else out
        return _message(ctx, path, v)
    if key == "reachable":
        items = v if isinstance(v, list) else [v]
        for j, x in enumerate(items):
            p = (*path, j) if isinstance(v, list) else path
            if not isinstance(x, str):
                ctx.err(p, f"expected a node name or an address, got {describe(x)}")
                return _BAD
            if ":" in x:
                try:
                    IPv6Address(x)
                except ValueError:
                    ctx.err(p, f"{x!r} is not an IPv6 address", "give a node name or an address")
                    return _BAD
            elif not _node_ref(ctx, p, x):
                return _BAD
        return v
    return v  # pragma: no cover
