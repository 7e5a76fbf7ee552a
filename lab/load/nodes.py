"""``defaults:`` and ``nodes:``: kinds, keys, option types and inheritance.

Options inherit ``defaults.all`` → ``defaults.<kind>`` → the node; mappings merge key by
key, anything else is replaced. Each layer's values are type-checked where they are
written, so a bad default is reported once, at its own line.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from ..model import KINDS, PEER_KINDS, Node
from ..schema import (
    ALL_OPTION_NAMES,
    DERIVED,
    NAME_RE,
    NODE_KEYS,
    Field,
    SpecError,
    allowed_hint,
    describe,
    did_you_mean,
    options_for,
)
from .context import Ctx, NodeInfo

_KIND_HINT = "kinds: " + ", ".join(sorted(KINDS))


def deep_merge(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = deep_merge(out[k], v) if k in out else copy.deepcopy(v)
        return out
    return copy.deepcopy(b)


def _check_option(ctx: Ctx, path: tuple, f: Field, value: Any) -> bool:
    try:
        f.spec.check(value)
    except SpecError as e:
        ctx.spec_err(path, e)
        return False
    return True


def read_defaults(ctx: Ctx) -> dict[str, dict[str, Any]]:
    """``defaults:`` as layer → {option: value}; bad entries are reported and dropped."""
    raw = ctx.doc.get(("defaults",))
    out: dict[str, dict[str, Any]] = {}
    if raw is None:
        return out
    if not isinstance(raw, dict):
        ctx.err(("defaults",), f"expected a mapping of kinds to options, got {describe(raw)}")
        return out
    for layer, opts in raw.items():
        path = ("defaults", layer)
        if layer != "all" and layer not in KINDS:
            ctx.err(
                path,
                f"{layer!r} is not a node kind",
                did_you_mean(layer, {*KINDS, "all"})
                or f"use all or a kind ({', '.join(sorted(KINDS))})",
            )
            continue
        if opts is None:
            continue
        if not isinstance(opts, dict):
            ctx.err(path, f"expected a mapping of options, got {describe(opts)}")
            continue
        good: dict[str, Any] = {}
        for k, v in opts.items():
            if layer == "all":
                if k == "template":
                    ctx.err(
                        (*path, k),
                        "a template belongs to one kind",
                        "set it under defaults.<kind> or on the node",
                    )
                    continue
                if k not in ALL_OPTION_NAMES:
                    ctx.err(
                        (*path, k),
                        f"no node kind has an option {k!r}",
                        allowed_hint(k, ALL_OPTION_NAMES, "options"),
                    )
                    continue
                # checked against the first kind that takes it (one report, at its line)
                kind = next(kd for kd in sorted(KINDS) if k in options_for(kd))
                if _check_option(ctx, (*path, k), options_for(kind)[k], v):
                    good[k] = v
                continue
            allowed = options_for(layer)
            if k == "template" and layer in PEER_KINDS:
                if isinstance(v, str):
                    good[k] = v
                else:
                    ctx.err((*path, k), f"expected a path, got {describe(v)}")
                continue
            if k not in allowed:
                extra = {"template"} if layer in PEER_KINDS else set()
                ctx.err(
                    (*path, k),
                    f"unknown option {k!r} for kind {layer}",
                    allowed_hint(k, set(allowed) | extra, "options"),
                )
                continue
            if _check_option(ctx, (*path, k), allowed[k], v):
                good[k] = v
        out[layer] = good
    return out


def read_nodes(ctx: Ctx, defaults: dict[str, dict[str, Any]]) -> None:
    raw = ctx.doc.get(("nodes",))
    if raw is None:
        ctx.err(
            ("nodes",), "the topology has no nodes", "add nodes: {NAME: {kind: KIND}, …}", at=()
        )
        return
    if not isinstance(raw, dict):
        ctx.err(
            ("nodes",),
            f"expected a mapping of node names to nodes, got {describe(raw)}",
            "nodes: {s1: {kind: dhcp6-server}, c1: {kind: dhcp6-client}}",
        )
        return
    for name, spec in raw.items():
        path = ("nodes", name)
        if not isinstance(name, str) or not re.match(NAME_RE, name):
            ctx.err(
                path,
                f"{name!r} is not a valid node name",
                "a letter, then up to 31 of A-Z a-z 0-9 _ -",
            )
            continue
        ctx.names.add(name)
        if spec is None or isinstance(spec, str):
            hint = (
                f"write {name}: {{kind: {spec}}}"
                if isinstance(spec, str) and spec in KINDS
                else f"e.g. {name}: {{kind: dhcp6-client}}"
            )
            ctx.err(path, "a node needs a mapping with its kind", hint)
            continue
        if not isinstance(spec, dict):
            ctx.err(
                path,
                f"expected a mapping, got {describe(spec)}",
                f"e.g. {name}: {{kind: dhcp6-client}}",
            )
            continue
        kind = spec.get("kind")
        if kind is None:
            ctx.err(path, "missing 'kind'", _KIND_HINT)
            continue
        if not isinstance(kind, str) or kind not in KINDS:
            hint = did_you_mean(kind, KINDS) if isinstance(kind, str) else ""
            ctx.err((*path, "kind"), f"unknown kind {describe(kind)}", hint or _KIND_HINT)
            continue
        _read_node(ctx, name, kind, spec, defaults)


def _read_node(
    ctx: Ctx, name: str, kind: str, spec: dict, defaults: dict[str, dict[str, Any]]
) -> None:
    path = ("nodes", name)
    allowed = options_for(kind)
    info = NodeInfo(path=path)
    ok = True
    node_opts: dict[str, Any] = {}
    for k, v in spec.items():
        if k in ("kind", "addresses"):
            continue
        if k == "template":
            if kind not in PEER_KINDS:
                ctx.err(
                    (*path, k),
                    f"a {kind} node takes no template",
                    "templates configure real peers: " + ", ".join(sorted(PEER_KINDS)),
                )
                ok = False
            elif not isinstance(v, str):
                ctx.err((*path, k), f"expected a path, got {describe(v)}")
                ok = False
            else:
                node_opts[k] = v
            continue
        if k not in allowed:
            extra = {"template"} if kind in PEER_KINDS else set()
            ctx.err(
                (*path, k),
                f"unknown option {k!r} for kind {kind}",
                allowed_hint(k, set(allowed) | set(NODE_KEYS[:2]) | extra, "options"),
            )
            ok = False
            continue
        if _check_option(ctx, (*path, k), allowed[k], v):
            node_opts[k] = v
        else:
            ok = False
    layers = [("defaults", "all"), ("defaults", kind), path]
    info.layers = layers
    values = [defaults.get("all", {}), defaults.get(kind, {}), node_opts]
    merged: dict[str, Any] = {}
    for layer_path, layer in zip(layers, values, strict=True):
        for k, v in layer.items():
            if k != "template" and k not in allowed:
                continue  # an `all` option this kind does not take
            merged[k] = deep_merge(merged[k], v) if k in merged else copy.deepcopy(v)
            info.option_paths[k] = (*layer_path, k)
    options: dict[str, Any] = {}
    for k, f in allowed.items():
        if k in merged:
            try:
                options[k] = f.spec.check(merged[k])
            except SpecError as e:
                ctx.spec_err(info.option_paths[k], e)
                ok = False
                if f.default is not DERIVED:
                    options[k] = copy.deepcopy(f.default)
        elif f.default is not DERIVED:
            options[k] = copy.deepcopy(f.default)
    template = merged.get("template")
    node = Node(name=name, kind=kind, options=options, line=ctx.doc.line(path))
    if template is not None:
        tpath = info.option_paths["template"]
        p = Path(template)
        full = p if p.is_absolute() else ctx.base_dir / p
        if not full.is_file():
            ctx.err(
                tpath,
                f"template {template!r} not found",
                "a relative path starts at the topology file's directory",
            )
            ok = False
        node.template = str(full.resolve()) if full.is_file() else str(full)
    ctx.names.add(name)
    ctx.info[name] = info
    ctx.nodes[name] = node
    if not ok:
        ctx.broken.add(name)
