"""pytest fixtures for simulated labs: ``sim_lab`` and ``sim_lab_factory``.

They mirror the plugin's ``lab`` and ``lab_factory`` (lab/pytest_plugin.py) and hand out
:class:`lab.sim.handle.SimLab` — the namespace ``Lab``'s API on virtual time, no root.
The plugin registers them::

    from lab.sim.pytest_fixture import sim_lab_factory_fixture, sim_lab_fixture
    sim_lab_factory = pytest.fixture(sim_lab_factory_fixture, name="sim_lab_factory")
    sim_lab = pytest.fixture(sim_lab_fixture, name="sim_lab")

``sim_lab`` reads the same ``@pytest.mark.lab(path, set=...)`` marker (or indirect
parameter: a path, or a dict with ``path``, ``set``, ``seed``) as ``lab``, so one test can
run on either backend; ``time_scale``/``pcap`` mean nothing here and are ignored. The
seed: ``seed`` in the parameter, else ``@pytest.mark.sim(seed=N)``, else the option
``--sim-seed`` if the plugin defines one, else 0::

    @pytest.mark.lab("topologies/basic.yaml")
    def test_renews_at_t1(sim_lab):
        sim_lab.wait_for("c1", state="BOUND", within=10)
        sim_lab.assert_renewed_at_t1("c1")                      # exact, in virtual time

    def test_many(sim_lab_factory):
        lab = sim_lab_factory("topologies/clients50.yaml", set={"clients": 500}, seed=3)

Every lab's trace is written to the test's ``tmp_path`` (``sim-STEM.jsonl``, then
``sim-STEM-2.jsonl``…) so a failure can be read afterwards; labs are closed after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..model import Topology
from .handle import SimLab

SimLabFactory = Callable[..., SimLab]


def _resolve(path: Any, request: Any) -> Any:
    """Like the plugin: relative to the cwd, else the test's folder, else the rootdir."""
    if isinstance(path, Topology):
        return path
    p = Path(path)
    if p.is_absolute() or p.exists():
        return p
    for base in (getattr(request, "path", None), None):
        if base is not None and (Path(base).parent / p).exists():
            return Path(base).parent / p
    root = getattr(getattr(request, "config", None), "rootpath", None)
    return Path(root) / p if root is not None and (Path(root) / p).exists() else p


def _default_seed(request: Any) -> object:
    marker = request.node.get_closest_marker("sim") if hasattr(request, "node") else None
    if marker is not None and "seed" in marker.kwargs:
        return marker.kwargs["seed"]
    try:
        seed = request.config.getoption("--sim-seed", default=None)
    except (ValueError, AttributeError):
        seed = None
    return 0 if seed is None else seed


def sim_lab_factory_fixture(request: Any) -> Iterator[SimLabFactory]:
    """``sim_lab_factory(path, set=None, seed=None, scenario=True)`` → a SimLab (begun)."""
    labs: list[SimLab] = []
    try:
        tmp: Path | None = Path(request.getfixturevalue("tmp_path"))
    except Exception:
        tmp = None

    def make(path: Topology | str | Path, *, set: dict[str, Any] | None = None,
             seed: object = None, scenario: bool = True, **_ignored: Any) -> SimLab:  # fmt: skip
        target = _resolve(path, request)
        trace = None
        if tmp is not None:
            stem = target.name if isinstance(target, Topology) else Path(target).stem
            trace = tmp / f"sim-{stem}{f'-{len(labs) + 1}' if labs else ''}.jsonl"
        lab = SimLab(target, seed=_default_seed(request) if seed is None else seed, overrides=set,
                     trace=trace, scenario=scenario)  # fmt: skip
        labs.append(lab)
        return lab

    try:
        yield make
    finally:
        for lab in labs:
            lab.down()


def sim_lab_fixture(request: Any) -> Iterator[SimLab]:
    """The SimLab of ``@pytest.mark.lab(path, set=...)`` or an indirect parameter."""
    spec: dict[str, Any]
    if hasattr(request, "param"):
        p = request.param
        spec = {"path": p} if isinstance(p, (str, Path, Topology)) else dict(p)
    else:
        marker = request.node.get_closest_marker("lab")
        if marker is None:
            raise LookupError(f"{request.node.nodeid}: the `sim_lab` fixture needs a topology: "
                              "@pytest.mark.lab('topologies/basic.yaml') or an indirect parameter")  # fmt: skip
        spec = dict(marker.kwargs)
        if marker.args:
            spec["path"] = marker.args[0]
    if "path" not in spec:
        raise LookupError(f"{request.node.nodeid}: the `sim_lab` fixture needs a topology path")
    gen = sim_lab_factory_fixture(request)
    make = next(gen)
    try:
        yield make(spec.pop("path"), **spec)
    finally:
        gen.close()
