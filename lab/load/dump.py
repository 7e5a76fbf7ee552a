"""A resolved Topology as plain data (what ``lab inspect`` prints as YAML or JSON)."""

from __future__ import annotations

from typing import Any

from ..model import Topology


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [_plain(x) for x in v]
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


def topology_to_dict(topo: Topology) -> dict[str, Any]:
    nodes = {}
    for n in topo.nodes.values():
        d: dict[str, Any] = {"kind": n.kind, "line": n.line}
        d["interfaces"] = {
            i.name: {"link": i.link, "addresses": [str(a) for a in i.addresses]}
            for i in sorted(n.interfaces.values(), key=lambda i: i.name)
        }
        d["routes"] = [
            {"destination": str(r.destination), "via": str(r.via), "iface": r.iface}
            for r in n.routes
        ]
        d["options"] = _plain(n.options)
        if n.template:
            d["template"] = n.template
        nodes[n.name] = d
    links = {}
    for lk in topo.links.values():
        d = {
            "kind": lk.kind,
            "line": lk.line,
            "prefix": str(lk.prefix) if lk.prefix else None,
            "endpoints": [str(e) for e in lk.endpoints],
        }
        if lk.impairment is not None:
            d["impairment"] = {
                "loss": lk.impairment.loss,
                "duplicate": lk.impairment.duplicate,
                "delay": lk.impairment.delay,
            }
        links[lk.name] = d
    return {
        "name": topo.name,
        "source": topo.source,
        "time_scale": topo.time_scale,
        "variables": _plain(topo.variables),
        "nodes": nodes,
        "links": links,
        "scenario": _plain(topo.scenario),
        "expect": _plain(topo.expect),
    }
