"""The exported JSON Schema (``lab schema``): it accepts the example topologies (after
jinja rendering), rejects wrong shapes, and covers every option of every kind.

``jsonschema`` is not a dependency; when it is installed it is used too, otherwise the
small validator below checks exactly the keywords the schema uses (a test makes sure no
other keyword creeps in unchecked).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from lab.load import render_topology
from lab.model import KINDS
from lab.schema import json_schema, options_for

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "topologies").glob("*.yaml"))

SUPPORTED = {
    "$schema", "$id", "$defs", "$ref", "title", "description", "default",
    "type", "properties", "required", "additionalProperties", "propertyNames",
    "enum", "const", "items", "prefixItems", "minItems", "maxItems",
    "minProperties", "maxProperties", "pattern", "minimum", "maximum", "exclusiveMinimum",
    "anyOf", "oneOf", "allOf", "if", "then",
}  # fmt: skip

_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "null": type(None),
}


def _is(v: Any, t: str) -> bool:
    if t in ("integer", "number") and isinstance(v, bool):
        return False
    return isinstance(v, _TYPES[t])


def errors_of(schema: dict, v: Any, root: dict | None = None, path: str = "") -> list[str]:
    """A small JSON Schema (2020-12 subset) validator: the messages of every failure."""
    root = root if root is not None else schema
    out: list[str] = []
    if "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/$defs/"), ref
        out += errors_of(root["$defs"][ref[len("#/$defs/") :]], v, root, path)
    if "type" in schema and not _is(v, schema["type"]):
        return [*out, f"{path}: {v!r} is not {schema['type']}"]
    if "enum" in schema and v not in schema["enum"]:
        out.append(f"{path}: {v!r} not in enum")
    if "const" in schema and v != schema["const"]:
        out.append(f"{path}: {v!r} != const")
    if isinstance(v, str) and "pattern" in schema and not re.search(schema["pattern"], v):
        out.append(f"{path}: {v!r} does not match {schema['pattern']}")
    if _is(v, "number"):
        if "minimum" in schema and v < schema["minimum"]:
            out.append(f"{path}: {v} < minimum")
        if "maximum" in schema and v > schema["maximum"]:
            out.append(f"{path}: {v} > maximum")
        if "exclusiveMinimum" in schema and v <= schema["exclusiveMinimum"]:
            out.append(f"{path}: {v} <= exclusiveMinimum")
    if isinstance(v, dict):
        props = schema.get("properties", {})
        for k in schema.get("required", []):
            if k not in v:
                out.append(f"{path}: missing {k}")
        for k, x in v.items():
            if "propertyNames" in schema:
                out += errors_of(schema["propertyNames"], k, root, f"{path}.{k}(name)")
            if k in props:
                out += errors_of(props[k], x, root, f"{path}.{k}")
            elif schema.get("additionalProperties") is False:
                out.append(f"{path}: unexpected {k}")
            elif isinstance(schema.get("additionalProperties"), dict):
                out += errors_of(schema["additionalProperties"], x, root, f"{path}.{k}")
        if len(v) < schema.get("minProperties", 0) or len(v) > schema.get("maxProperties", 1e9):
            out.append(f"{path}: {len(v)} properties")
    if isinstance(v, list):
        if len(v) < schema.get("minItems", 0) or len(v) > schema.get("maxItems", 1e9):
            out.append(f"{path}: {len(v)} items")
        prefix = schema.get("prefixItems", [])
        for i, x in enumerate(v):
            if i < len(prefix):
                out += errors_of(prefix[i], x, root, f"{path}[{i}]")
            elif "items" in schema:
                out += errors_of(schema["items"], x, root, f"{path}[{i}]")
    if "anyOf" in schema and all(errors_of(s, v, root, path) for s in schema["anyOf"]):
        out.append(f"{path}: matches none of anyOf")
    if "oneOf" in schema:
        n = sum(not errors_of(s, v, root, path) for s in schema["oneOf"])
        if n != 1:
            out.append(f"{path}: matches {n} of oneOf")
    for s in schema.get("allOf", []):
        if "if" in s:
            if not errors_of(s["if"], v, root, path):
                out += errors_of(s.get("then", {}), v, root, path)
        else:
            out += errors_of(s, v, root, path)
    return out


def _keywords(schema: Any, found: set[str]) -> set[str]:
    if isinstance(schema, dict):
        for k, v in schema.items():
            found.add(k)
            if k in ("properties", "$defs"):
                for sub in v.values():
                    _keywords(sub, found)
            elif k not in ("default", "enum", "const", "required", "description"):
                _keywords(v, found)
    elif isinstance(schema, list):
        for x in schema:
            _keywords(x, found)
    return found


def validate(instance: Any) -> list[str]:
    schema = json_schema()
    errs = errors_of(schema, instance)
    try:
        import jsonschema  # optional
    except ImportError:
        return errs
    official = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(instance)]
    assert bool(official) == bool(errs), (official, errs)
    return errs


def rendered(path: Path) -> dict:
    doc, _ = render_topology(path.read_text(), str(path))
    return doc.data


def test_schema_is_json_and_uses_only_checked_keywords():
    schema = json_schema()
    json.loads(json.dumps(schema))
    assert schema["$schema"].endswith("2020-12/schema")
    assert _keywords(schema, set()) <= SUPPORTED


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_match_the_schema(path: Path):
    assert validate(rendered(path)) == []


def test_schema_covers_every_option_of_every_kind():
    defs = json_schema()["$defs"]
    for kind in KINDS:
        props = defs[f"node-{kind}"]["properties"]
        assert set(options_for(kind)) <= set(props), kind
        assert {"kind", "addresses"} <= set(props)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(nodez={}),
        lambda d: d["nodes"]["c1"].update(kind="dhcp6-clinet"),
        lambda d: d["nodes"]["c1"].update(rapid_comit=True),
        lambda d: d["nodes"]["c1"].update(ia_na="many"),
        lambda d: d["nodes"]["s1"].update(template="x.j2"),  # only real peers take one
        lambda d: d["links"][0].update(endpoints=["a:eth0", "b:eth0"]),  # both shapes
        lambda d: d["links"][0].update(prefix="not a prefix"),
        lambda d: d.update(clock={"time_scale": 0}),
        lambda d: d.update(scenario=[{"at": "5s", "kill": "s1", "restart": "s1"}]),
        lambda d: d.update(scenario=[{"at": "5 sec", "kill": "s1"}]),
        lambda d: d.update(expect={"c1": {"leased_in": "2001:db8::/64"}}),
        lambda d: d.update(defaults={"dhcp6-clients": {}}),
    ],
)
def test_schema_rejects_wrong_shapes(mutate):
    data = copy.deepcopy(rendered(ROOT / "topologies" / "basic.yaml"))
    mutate(data)
    assert validate(data)


def test_kind_specific_options_are_checked_per_kind():
    data = copy.deepcopy(rendered(ROOT / "topologies" / "basic.yaml"))
    data["nodes"]["c1"]["listen"] = ["eth0"]  # a relay option on a client
    assert validate(data)
    data["nodes"]["c1"] = {"kind": "dhcp6-relay", "listen": ["eth0"], "server": ["s1"]}
    assert validate(data) == []
