"""Golden error tests: every tests/data/bad_topologies/NAME.yaml has NAME.err with the
exact messages ``lab validate`` prints (file:line: path: problem — hint), in order.

A first line ``# overrides: k=v …`` passes --set variables. To regenerate after a
deliberate change of wording: ``LAB_UPDATE_GOLDEN=1 pytest tests/test_topology_errors.py``
and review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from lab.load import TopologyError, load_topology_text

DATA = Path(__file__).parent / "data" / "bad_topologies"
CASES = sorted(DATA.glob("*.yaml"))
_LOCATION = re.compile(r"^(?P<file>[^:]+):(?P<line>[0-9]+): ")


def _overrides(text: str) -> dict[str, str] | None:
    m = re.match(r"# overrides: (.*)", text)
    if not m:
        return None
    return dict(item.split("=", 1) for item in m.group(1).split())


def _errors(case: Path) -> list[str]:
    text = case.read_text(encoding="utf-8")
    with pytest.raises(TopologyError) as info:
        load_topology_text(text, case.name, _overrides(text), base_dir=DATA)
    return info.value.errors


def test_there_are_enough_cases():
    assert len(CASES) >= 25
    for case in CASES:
        assert case.with_suffix(".err").exists() or os.environ.get("LAB_UPDATE_GOLDEN"), case


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golden_errors(case: Path):
    errors = _errors(case)
    golden = case.with_suffix(".err")
    if os.environ.get("LAB_UPDATE_GOLDEN"):
        golden.write_text("\n".join(errors) + "\n", encoding="utf-8")
    expected = golden.read_text(encoding="utf-8").rstrip("\n").split("\n")
    assert errors == expected


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_errors_are_one_line_located_and_sorted(case: Path):
    errors = _errors(case)
    assert errors
    keys = []
    for e in errors:
        assert "\n" not in e and "Traceback" not in e
        if e.startswith("--set "):
            keys.append((0, "", 0))
            continue
        m = _LOCATION.match(e)
        assert m, e
        own = m.group("file") == case.name
        keys.append((1 if own else 2, "" if own else m.group("file"), int(m.group("line"))))
    assert keys == sorted(keys)


def test_str_of_the_error_is_the_lines():
    case = DATA / "multiple_errors.yaml"
    text = case.read_text(encoding="utf-8")
    with pytest.raises(TopologyError) as info:
        load_topology_text(text, case.name, base_dir=DATA)
    assert str(info.value) == "\n".join(info.value.errors)
    assert len(info.value.errors) == 5
