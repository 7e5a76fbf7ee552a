"""dhcp6.accel: compiled copies of the hot modules, used only while their source is unchanged.

A real build (Cython and the C compiler the bootstrap installs) of a small probe module,
imported in fresh interpreters; and the simulator run compiled and pure, trace for trace.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dhcp6 import accel
from dhcp6.accel.build import AccelError, build, hot_modules, status

ROOT = Path(__file__).resolve().parent.parent
PROBE = "accelprobe.hot"


@pytest.fixture(autouse=True)
def _forget_probe():
    """Each test's probe package is its own: none kept in sys.modules from another."""
    yield
    for name in ("accelprobe", PROBE):
        sys.modules.pop(name, None)


def _probe(tmp_path: Path, body: str) -> Path:
    pkg = tmp_path / "src" / "accelprobe"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "hot.py").write_text(body)
    return tmp_path / "src"


def _built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> tuple[Path, Path]:
    """The probe package with ``hot.py`` holding ``body``, compiled: (its root, the build)."""
    src = _probe(tmp_path, body)
    monkeypatch.syspath_prepend(str(src))
    folder = tmp_path / "accel"
    assert build((PROBE,), folder, jobs=1) == [PROBE]
    return src, folder


def _run(code: str, src: Path, folder: Path, **env: str) -> str:
    e = {k: v for k, v in os.environ.items() if k != accel.PURE_ENV}
    e.update(PYTHONPATH=f"{src}{os.pathsep}{ROOT}", **{accel.DIR_ENV: str(folder)}, **env)
    r = subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True,
                       timeout=60, check=False)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


USE = (
    "import dhcp6, dhcp6.accel as a, accelprobe.hot as h; "
    "print(h.__file__.rsplit('.', 1)[-1], h.answer(20))"
)


def test_compiled_copy_is_used_only_while_its_source_is_unchanged(tmp_path, monkeypatch):
    src = _probe(tmp_path, "def answer(x):\n    return 2 * x + 2\n")
    monkeypatch.syspath_prepend(str(src))
    folder = tmp_path / "accel"
    assert status(folder, (PROBE,)) == {PROBE: "missing"}
    assert build((PROBE,), folder, jobs=1) == [PROBE]
    assert status(folder, (PROBE,)) == {PROBE: "compiled"}
    assert build((PROBE,), folder) == []  # current: nothing to do
    manifest = json.loads((folder / accel.MANIFEST).read_text())
    assert manifest["modules"][PROBE]["file"].endswith(".so")

    assert _run(USE, src, folder) == "so 42"  # the compiled copy
    assert _run(USE, src, folder, **{accel.PURE_ENV: "1"}) == "py 42"  # asked for pure

    (src / "accelprobe" / "hot.py").write_text("def answer(x):\n    return 2 * x + 3\n")
    assert status(folder, (PROBE,)) == {PROBE: "stale"}
    assert _run(USE, src, folder) == "py 43"  # stale: the edited source, not the old copy
    stale = _run("import dhcp6.accel as a, accelprobe.hot; print(a.describe_loaded())", src, folder)
    assert "stale: accelprobe.hot" in stale

    assert build((PROBE,), folder, jobs=1) == [PROBE]  # only what changed
    assert _run(USE, src, folder) == "so 43"


def test_a_build_that_fails_says_why_in_one_line_and_keeps_the_old_build(tmp_path, monkeypatch):
    src, folder = _built(tmp_path, monkeypatch, "def answer(x):\n    return 42\n")
    before = (folder / accel.MANIFEST).read_bytes()
    (src / "accelprobe" / "hot.py").write_text("def answer(x):\n    return (42\n")
    with pytest.raises(AccelError) as e:
        build((PROBE,), folder, jobs=1)
    assert str(e.value).startswith("cannot compile (CompileError: ") and "\n" not in str(e.value)
    assert (folder / accel.MANIFEST).read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".dhcp6-accel-")] == []


def test_a_build_for_another_interpreter_is_not_used(tmp_path, monkeypatch):
    src, folder = _built(tmp_path, monkeypatch, "def answer(x):\n    return 2 * x + 2\n")
    m = json.loads((folder / accel.MANIFEST).read_text())
    m["ext_suffix"] = ".cpython-99-x86_64-linux-gnu.so"
    (folder / accel.MANIFEST).write_text(json.dumps(m))
    assert _run(USE, src, folder) == "py 42"


def test_a_damaged_manifest_is_ignored(tmp_path, monkeypatch):
    src, folder = _built(tmp_path, monkeypatch, "def answer(x):\n    return 2 * x + 2\n")
    m = json.loads((folder / accel.MANIFEST).read_text())
    m["modules"][PROBE] = {"file": m["modules"][PROBE]["file"]}  # no digest
    (folder / accel.MANIFEST).write_text(json.dumps(m))
    assert _run(USE, src, folder) == "py 42"
    (folder / accel.MANIFEST).write_text("{not json")
    assert _run(USE, src, folder) == "py 42"


def test_cli_help_and_status():
    r = subprocess.run([sys.executable, "-m", "dhcp6.accel", "--help"], capture_output=True,
                       text=True, check=False)  # fmt: skip
    assert r.returncode == 0 and "examples:" in r.stdout and "DHCP6_PURE=1" in r.stdout
    r = subprocess.run([sys.executable, "-m", "dhcp6.accel", "status"], capture_output=True,
                       text=True, check=False)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert all(name in r.stdout for name in hot_modules())
    n = sum(1 for s in status().values() if s == "compiled")
    assert r.stdout.strip().splitlines()[-1].startswith(f"{n} of {len(hot_modules())} compiled")


SIMULATE = """
import sys, dhcp6.accel as a
from lab.load import load_topology
from lab.sim.simulator import Simulator
from lab.sim.tracing import SimTrace
for i, (path, hours) in enumerate(%r):
    sim = Simulator(load_topology(path), seed=7, trace=SimTrace(sys.argv[1] + str(i)))
    sim.run_until(hours * 3600.0)
    sim.close()
print(a.describe_loaded())
"""
TOPOLOGIES = [("topologies/lossy.yaml", 3), ("topologies/relay-chain.yaml", 6),
              ("topologies/reconfigure.yaml", 2), ("topologies/failover.yaml", 4),
              ("topologies/pd-cpe.yaml", 6)]  # fmt: skip


def test_simulator_traces_are_the_same_compiled_and_pure(tmp_path):
    """What the compiled copies run is the same program: byte-identical traces."""
    st = status()
    assert set(st.values()) == {"compiled"}, (
        f"not compiled and current: {sorted(n for n, s in st.items() if s != 'compiled')}; "
        "run `make accel` (python -m dhcp6.accel build)"
    )
    code = SIMULATE % TOPOLOGIES
    outs = {}
    for mode, env in (("compiled", {}), ("pure", {accel.PURE_ENV: "1"})):
        e = {k: v for k, v in os.environ.items() if k != accel.PURE_ENV} | env
        r = subprocess.run([sys.executable, "-c", code, str(tmp_path / mode)], cwd=ROOT, env=e,
                           capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
        assert r.returncode == 0, r.stderr
        outs[mode] = r.stdout.strip()
    assert (
        outs["compiled"]
        == f"compiled by Cython: {len(hot_modules())} of {len(hot_modules())} hot modules"
    )
    assert outs["pure"].startswith("pure Python")
    for i, (path, _) in enumerate(TOPOLOGIES):
        a, b = (tmp_path / f"compiled{i}").read_bytes(), (tmp_path / f"pure{i}").read_bytes()
        assert a.count(b"\n") > 50, path
        assert a == b, f"{path}: the compiled and pure traces differ"
