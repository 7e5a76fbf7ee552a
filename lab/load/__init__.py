"""Topology loading: jinja2 → YAML with lines → validate → resolve → ``Topology``.

    from lab.load import load_topology, TopologyError
    try:
        topo = load_topology("topologies/demo.yaml", {"clients": "50"})
    except TopologyError as e:
        print(e)            # one line per error: file:line: path: problem — hint

Phases (each collects every error it can before the next one needs its results):

1. ``vars:`` (plain YAML) + ``--set`` overrides → jinja2 render (line-mapped, see
   lab/load/source.py) → YAML. A template or YAML error stops here.
2. Top level, clock, ``defaults:`` and ``nodes:`` (kinds, keys, option types, inheritance).
3. ``links:`` (endpoints, interfaces, prefixes), static addresses and allocation.
4. Derived options (lab/load/options.py), server configs, relays; routes; whole-topology
   checks (clients reach a server, relays reach theirs, clocks); scenario and expect.

A user's mistake is always a ``TopologyError``, never another exception.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..model import Topology
from ..schema import CLOCK, NAME_RE, TOP_KEYS, SpecError, allowed_hint, describe, did_you_mean
from .checks import check_clients, check_clock, check_pools, check_relayed_subnets, check_relays
from .context import Ctx
from .errors import Problems, Stop, TopologyError
from .links import read_addresses, read_links
from .nodes import read_defaults, read_nodes
from .options import resolve_options
from .routing import compute_routes
from .scenario import read_expect, read_scenario
from .source import Doc, parse_value, parse_yaml, read_vars, render, template_variables

__all__ = [
    "TopologyError",
    "load_topology",
    "load_topology_text",
    "parse_overrides",
    "render_topology",
]


def parse_overrides(pairs: list[str] | None) -> dict[str, str]:
    """``["clients=50", "scale=2"]`` → ``{"clients": "50", "scale": "2"}``.

    Raises TopologyError for an item without ``=`` or with a bad name.
    """
    out: dict[str, str] = {}
    errors = []
    for item in pairs or []:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            errors.append(f"--set {item}: expected NAME=VALUE, e.g. --set clients=50")
            continue
        out[name] = value
    if errors:
        raise TopologyError(errors)
    return out


def _variables(
    text: str, file_vars: dict[str, Any], overrides: dict[str, Any] | None, problems: Problems
) -> dict[str, Any]:
    variables = dict(file_vars)
    if not overrides:
        return variables
    known = set(file_vars) | template_variables(text)
    for name, raw in overrides.items():
        value = parse_value(raw) if isinstance(raw, str) else raw
        if name not in known:
            hint = did_you_mean(name, known) or (
                f"its variables: {', '.join(sorted(file_vars))}"
                if file_vars
                else "declare it under vars:"
            )
            problems.add(
                None,
                "",
                f"the topology has no variable {name!r}",
                hint,
                source=f"--set {name}={raw}",
            )
            continue
        variables[name] = value
    return variables


def render_topology(
    text: str, source: str = "<topology>", overrides: dict[str, Any] | None = None
) -> tuple[Doc, dict[str, Any]]:
    """Phase 1 only: the rendered YAML as a ``Doc`` (data + source lines) and the variables.

    Raises TopologyError for vars, template and YAML errors.
    """
    problems = Problems(source)
    try:
        file_vars, _ = read_vars(text, source, problems)
        variables = _variables(text, file_vars, overrides, problems)
        problems.raise_if_any()
        overridden = tuple(n for n in overrides or {} if n in variables)
        rendered, linemap = render(text, source, variables, problems, overridden)
        doc = parse_yaml(rendered, source, problems, linemap)
    except Stop:
        problems.raise_if_any()
        raise AssertionError("Stop without an error") from None
    problems.raise_if_any()
    return doc, variables


def load_topology_text(
    text: str,
    source: str = "<topology>",
    overrides: dict[str, Any] | None = None,
    *,
    base_dir: str | Path | None = None,
) -> Topology:
    """Load a topology from text. ``source`` names it in errors; ``base_dir`` anchors
    relative paths (templates, server config files; default: ``source``'s directory)."""
    doc, variables = render_topology(text, source, overrides)
    if base_dir is None:
        parent = Path(source).parent
        base_dir = parent if parent.is_dir() else Path.cwd()
    problems = Problems(source)
    ctx = Ctx(doc=doc, problems=problems, base_dir=Path(base_dir))
    try:
        topo = _resolve(ctx, variables)
    except Stop:
        problems.raise_if_any()
        raise AssertionError("Stop without an error") from None
    problems.raise_if_any()
    return topo


def load_topology(path: str | Path, overrides: dict[str, Any] | None = None) -> Topology:
    """Load ``path`` (jinja2, then YAML). ``overrides`` are ``--set`` variables: strings
    are read as YAML scalars (``"50"`` → 50). Raises TopologyError."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise TopologyError([f"{path}: cannot read: {e.strerror or e}"]) from None
    except UnicodeDecodeError as e:
        raise TopologyError([f"{path}: not UTF-8 text ({e.reason} at byte {e.start})"]) from None
    return load_topology_text(text, str(path), overrides, base_dir=p.parent)


def _resolve(ctx: Ctx, variables: dict[str, Any]) -> Topology:
    doc = ctx.doc
    data = doc.data
    if data is None:
        ctx.err((), "the file is empty", "a topology needs nodes: and links:")
        raise Stop
    if not isinstance(data, dict):
        ctx.err((), f"expected a mapping (nodes:, links:, …) at the top, got {describe(data)}")
        raise Stop
    for k in data:
        if k not in TOP_KEYS:
            ctx.err((k,), f"unknown key {k!r}", allowed_hint(k, TOP_KEYS, "top-level keys"))
    name = data.get("name")
    if name is None:
        stem = Path(doc.source).stem
        name = re.sub(r"[^A-Za-z0-9_-]", "-", stem) or "topology"
    elif not isinstance(name, str) or not re.match(NAME_RE, name):
        ctx.err(
            ("name",),
            f"{describe(name)} is not a valid lab name",
            "a letter, then up to 31 of A-Z a-z 0-9 _ -",
        )
    clock = data.get("clock")
    if clock is not None:
        try:
            ctx.time_scale = CLOCK.check(clock)["time_scale"]
        except SpecError as e:
            ctx.spec_err(("clock",), e)
    if "description" in data and not isinstance(data["description"], str):
        ctx.err(("description",), f"expected text, got {describe(data['description'])}")
    defaults = read_defaults(ctx)
    read_nodes(ctx, defaults)
    read_links(ctx)
    read_addresses(ctx)
    resolve_options(ctx)
    compute_routes(ctx)
    check_clients(ctx)
    check_relays(ctx)
    check_relayed_subnets(ctx)
    check_pools(ctx)
    check_clock(ctx)
    scenario = read_scenario(ctx)
    expect = read_expect(ctx)
    return Topology(
        name=str(name),
        nodes=ctx.nodes,
        links=ctx.links,
        time_scale=ctx.time_scale,
        scenario=scenario,
        expect=expect,
        variables=variables,
        source=doc.source,
    )
