"""pytest plugin for dhcp6-lab (registered as the ``dhcp6lab`` entry point in pytest11).

Fixtures
    ``lab``          the lab of the test's ``@pytest.mark.lab("topologies/x.yaml",
                     set={...}, time_scale=N, pcap=True)`` marker (or of an indirect
                     parameter: ``@pytest.mark.parametrize("lab", lab_params(...),
                     indirect=True)``), up and running; a :class:`lab.handle.Lab`.
    ``lab_factory``  ``lab_factory(path, set=..., time_scale=..., pcap=...)`` → a running
                     Lab; as many as a test needs.
    Every lab is removed after its test, pass or fail (``--lab-keep``: kept on failure).

YAML tests
    Every ``topologies/<name>.yaml`` with an ``expect:`` block is a test item: the lab
    comes up, its ``scenario:`` runs (lab/scenario.py), its expectations are checked; a
    failure names ``file:line`` of the expectation. ``pytest topologies/basic.yaml`` runs
    one.

Options
    ``--lab-keep``          leave a failed test's labs up; print how to inspect them
    ``--lab-pcap``          capture every link of every lab (``<run_dir>/pcap/<link>.pcap``)
    ``--lab-time-scale N``  run labs N× faster (labs with real peers stay at 1, warned)
    ``--lab-artifacts DIR`` copy a failed test's merged trace, pcaps and logs to DIR
    ``--lab-run-root DIR``  where labs' run directories go (default: a fresh private
                            directory per pytest process, removed at the end)

Lab names are ``<worker><pid base 36>-<n>`` (``t1z3k-1``; ``gw0…`` under pytest-xdist),
so parallel workers and parallel pytest runs never collide (namespaces are
``<lab>-<node>``).
"""

from __future__ import annotations

import contextlib
import glob as globmod
import os
import re
import shutil
import sys
import tempfile
import warnings
from itertools import count
from pathlib import Path
from typing import Any

import pytest

REPORTS = pytest.StashKey[dict]()
SESSION = pytest.StashKey["LabSession"]()
EXPECT_RE = re.compile(r"^expect\s*:", re.MULTILINE)


# ---------------------------------------------------------------------------- options


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("dhcp6lab", "dhcp6-lab (network-namespace DHCPv6 labs)")
    g.addoption("--lab-keep", action="store_true",
                help="leave the labs of a failed test up and print how to inspect them")  # fmt: skip
    g.addoption("--lab-pcap", action="store_true",
                help="capture every link of every lab to <run_dir>/pcap/<link>.pcap")  # fmt: skip
    g.addoption("--lab-time-scale", type=float, metavar="N",
                help="run labs N× faster than real time (only labs whose nodes are all ours)")  # fmt: skip
    g.addoption("--lab-artifacts", metavar="DIR",
                help="copy a failed test's merged trace, pcaps and logs into DIR")  # fmt: skip
    g.addoption("--lab-run-root", metavar="DIR",
                help="run directories of the labs (default: a private temporary directory)")  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "lab(path, set=None, time_scale=None, pcap=None): the topology the `lab` fixture builds",
    )
    known = {str(m).split(":")[0].split("(")[0].strip() for m in config.getini("markers")}
    if "netns" not in known:
        config.addinivalue_line("markers", "netns: needs root and Linux network namespaces")
    if "interop" not in known:
        config.addinivalue_line("markers", "interop: runs a real DHCPv6 peer from a Debian package")
    config.stash[SESSION] = LabSession(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    sess = config.stash.get(SESSION, None)
    if sess is not None:
        sess.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    rep = yield
    item.stash.setdefault(REPORTS, {})[rep.when] = rep
    return rep


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "lab" in names or "lab_factory" in names:
            item.add_marker(pytest.mark.netns)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    sess = config.stash.get(SESSION, None)
    if sess is None:
        return
    for line in sess.summary():
        terminalreporter.write_line(line)


# ---------------------------------------------------------------------------- session


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


def worker_id(config: pytest.Config) -> str:
    """pytest-xdist's worker id ("gw0") or "" outside xdist."""
    wi = getattr(config, "workerinput", None)
    if wi is not None:
        return str(wi.get("workerid", ""))
    return os.environ.get("PYTEST_XDIST_WORKER", "")


def lab_name(worker: str, pid: int, n: int) -> str:
    """A short lab name unique across xdist workers and concurrent pytest processes."""
    return f"{worker or 't'}{_base36(pid)}-{n}"


def root_required() -> str | None:
    if not sys.platform.startswith("linux"):
        return "labs need Linux network namespaces"
    if os.geteuid() != 0:
        return "labs need root (network namespaces); run as root, as CI does"
    return None


class LabSession:
    """Per pytest process: lab names, the run root, kept labs, artifacts."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.counter = count(1)
        self.worker = worker_id(config)
        self.keep = bool(config.getoption("lab_keep", False))
        self.pcap = bool(config.getoption("lab_pcap", False))
        self.time_scale = config.getoption("lab_time_scale", None)
        art = config.getoption("lab_artifacts", None)
        self.artifacts = Path(art).resolve() if art else None
        self._root_opt = config.getoption("lab_run_root", None) or os.environ.get(
            "DHCP6_LAB_RUN_ROOT"
        )
        self._root: Path | None = None
        self._private = False
        self.kept: list[tuple[str, Any]] = []  # (nodeid, Lab)
        self.saved: list[Path] = []
        self.open: list[Any] = []

    @property
    def run_root(self) -> Path:
        if self._root is None:
            if self._root_opt:
                self._root = Path(self._root_opt).resolve()
                self._root.mkdir(parents=True, exist_ok=True)
            else:  # short: run directories hold unix sockets (108-byte paths)
                self._root = Path(tempfile.mkdtemp(prefix="d6lab-"))
                self._private = True
        return self._root

    def new_name(self) -> str:
        return lab_name(self.worker, os.getpid(), next(self.counter))

    def make(self, path: Any, *, overrides: dict[str, Any] | None = None,
             time_scale: float | None = None, pcap: bool | None = None, up: bool = True,
             timeout: float = 180) -> Any:  # fmt: skip
        from .handle import Lab, has_peers, kinds_note
        from .load import TopologyError, load_topology
        from .model import Topology

        why = root_required()
        if why:
            pytest.skip(why)
        if isinstance(path, Topology):
            topo = path
        else:
            try:
                topo = load_topology(path, overrides)
            except TopologyError as e:
                pytest.fail("\n".join(e.errors), pytrace=False)
        scale = time_scale
        if scale is None and self.time_scale is not None:
            if has_peers(topo):
                warnings.warn(f"{path}: --lab-time-scale {self.time_scale:g} not applied: the lab "
                              f"has real peers ({kinds_note(topo)}), which run in real time",
                              pytest.PytestWarning, stacklevel=2)  # fmt: skip
            else:
                scale = self.time_scale
        lab = Lab(topo, self.new_name(), run_root=self.run_root, time_scale=scale,
                  pcap=self.pcap if pcap is None else pcap)  # fmt: skip
        if up:
            lab.up(timeout)
            self.open.append(lab)
        return lab

    def finish(self, lab: Any, nodeid: str, failed: bool, note: str = "") -> None:
        """After a test: artifacts if it failed, then down (unless kept)."""
        if lab.state_ == "new":
            return
        try:
            if failed and self.artifacts is not None and lab.state_ == "up":
                dest = self.artifacts / _safe(nodeid) / lab.name
                with contextlib.suppress(Exception):
                    shutil.rmtree(dest, ignore_errors=True)
                    lab.save_artifacts(dest, note)
                    self.saved.append(dest)
            if failed and self.keep and lab.state_ == "up":
                self.kept.append((nodeid, lab))
                return
            lab.down()
        finally:
            if lab in self.open and lab.state_ == "down":
                self.open.remove(lab)

    def summary(self) -> list[str]:
        lines = []
        if self.saved:
            lines.append(f"dhcp6-lab: artifacts of failed tests in {self.artifacts}:")
            lines += [f"  {p}" for p in self.saved]
        if self.kept:
            env = f"DHCP6_LAB_RUN_ROOT={self.run_root}"
            lines.append("dhcp6-lab: labs kept up after failures (--lab-keep); they run while this "
                         "pytest runs, then their namespaces and real peers stay until removed:")  # fmt: skip
            for nodeid, lab in self.kept:
                node = next(iter(lab.topology.nodes), "NODE")
                lines += [
                    f"  {lab.name}  ({nodeid})  run dir {lab.run_dir}",
                    f"    {env} lab status {lab.name}",
                    f"    {env} lab exec {lab.name} {node} -- ip -6 addr",
                    f"    {env} lab trace {lab.name} | less      # or: ls {lab.run_dir}/traces",
                    f"    ip netns list | grep '^{lab.name}-'",
                    f"    {env} lab down {lab.name}             # remove it ({env} lab clean: all)",
                ]
        return lines

    def close(self) -> None:
        kept = {id(x) for _, x in self.kept}
        for lab in list(self.open):  # a lab whose test never got to its teardown
            if id(lab) not in kept:
                with contextlib.suppress(Exception):
                    lab.down()
        if self._private and self._root is not None and not self.kept:
            shutil.rmtree(self._root, ignore_errors=True)


def _safe(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:150]


def _session(config: pytest.Config) -> LabSession:
    return config.stash[SESSION]


def _failed(item: pytest.Item) -> bool:
    return any(r.failed for r in item.stash.get(REPORTS, {}).values())


def _resolve(
    path: str | Path, request: pytest.FixtureRequest | None, config: pytest.Config
) -> Path:
    p = Path(path)
    if p.is_absolute():
        return p
    bases = []
    if request is not None:
        bases.append(Path(request.path).parent)
    bases += [config.rootpath, Path.cwd()]
    for b in bases:
        if (b / p).exists():
            return b / p
    return config.rootpath / p


# ---------------------------------------------------------------------------- fixtures


def lab_params(*patterns: str, **kw: Any) -> list[Any]:
    """``pytest.param``s for ``@pytest.mark.parametrize("lab", lab_params("topologies/*.yaml"),
    indirect=True)``: one per matching file (relative to the current directory or
    absolute), id = the file's stem; ``kw`` (set=, time_scale=, pcap=) go with each."""
    out = []
    for pat in patterns:
        files = sorted(globmod.glob(pat)) or [pat]
        out += [pytest.param({"path": f, **kw}, id=Path(f).stem) for f in files]
    return out


@pytest.fixture
def lab_factory(request: pytest.FixtureRequest):
    """``lab_factory(path, set=None, time_scale=None, pcap=None)`` → a running Lab; every
    lab made is removed after the test (kept on failure with --lab-keep)."""
    sess = _session(request.config)
    made: list[Any] = []

    def make(path: str | Path, *, set: dict[str, Any] | None = None,
             time_scale: float | None = None, pcap: bool | None = None,
             timeout: float = 180) -> Any:  # fmt: skip
        lab = sess.make(_resolve(path, request, request.config), overrides=set,
                        time_scale=time_scale, pcap=pcap, up=False)  # fmt: skip
        made.append(lab)
        lab.up(timeout)
        sess.open.append(lab)
        return lab

    yield make
    failed = _failed(request.node)
    errors = []
    for lab in reversed(made):
        try:
            sess.finish(lab, request.node.nodeid, failed)
        except Exception as e:  # every lab gets its teardown
            errors.append(e)
    if errors:
        raise errors[0]


@pytest.fixture
def lab(request: pytest.FixtureRequest, lab_factory):
    """The running lab named by ``@pytest.mark.lab(path, set=..., time_scale=..., pcap=...)``
    or by an indirect parameter (a path, or a dict with ``path`` and those keys)."""
    spec: dict[str, Any]
    if hasattr(request, "param"):
        p = request.param
        spec = {"path": p} if isinstance(p, (str, Path)) else dict(p)
    else:
        marker = request.node.get_closest_marker("lab")
        if marker is None:
            raise pytest.UsageError(
                f"{request.node.nodeid}: the `lab` fixture needs a topology: "
                "@pytest.mark.lab('topologies/basic.yaml') or an indirect parameter"
            )
        spec = dict(marker.kwargs)
        if marker.args:
            spec["path"] = marker.args[0]
    if "path" not in spec:
        raise pytest.UsageError(f"{request.node.nodeid}: @pytest.mark.lab needs a topology path")
    path = spec.pop("path")
    return lab_factory(path, **spec)


# ---------------------------------------------------------------------------- YAML items


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if file_path.suffix not in (".yaml", ".yml") or file_path.parent.name != "topologies":
        return None
    try:
        text = file_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if not EXPECT_RE.search(text):
        return None
    return YamlLabFile.from_parent(parent, path=file_path)


class YamlLabFile(pytest.File):
    def collect(self):
        yield YamlLabItem.from_parent(self, name=self.path.stem)


class YamlLabItem(pytest.Item):
    """A topology with ``expect:``: up, scenario, expectations, down."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.add_marker(pytest.mark.netns)
        text = self.path.read_text(encoding="utf-8", errors="replace")
        if re.search(r"kind:\s*(kea|dnsmasq|dhclient|dhcpcd|wide-dhcp6c)\b", text):
            self.add_marker(pytest.mark.interop)

    def runtest(self) -> None:
        from .load import TopologyError, load_topology
        from .scenario import check_expectations, run_scenario

        sess = _session(self.config)
        try:
            rel = os.path.relpath(self.path)
        except ValueError:
            rel = str(self.path)
        try:
            topo = load_topology(rel)
        except TopologyError as e:
            raise YamlLabError("\n".join(e.errors)) from None
        lab = sess.make(topo, up=False)
        failed, note = True, ""
        try:
            lab.up()
            sess.open.append(lab)
            run_scenario(lab, topo.scenario, source=rel)
            check_expectations(lab, topo.expect, source=rel)
            failed = False
        except AssertionError as e:
            note = str(e)
            raise YamlLabError(str(e)) from None
        finally:
            sess.finish(lab, self.nodeid, failed, note)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, YamlLabError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, 0, f"lab {self.path.name}"


class YamlLabError(AssertionError):
    """A YAML lab test failed; the message is the report (no traceback)."""


# ---------------------------------------------------------------------------- simulator

try:  # the simulated-lab fixture (lab/sim), when that package is present and loads
    from .sim.pytest_fixture import sim_lab_fixture as _sim_lab_fixture
except ImportError:  # pragma: no cover
    pass
except Exception as _sim_error:  # pragma: no cover - a broken lab/sim must not break pytest
    _SIM_ERROR = f"lab.sim could not be loaded: {type(_sim_error).__name__}: {_sim_error}"

    @pytest.fixture(name="sim_lab")
    def sim_lab():
        pytest.fail(_SIM_ERROR, pytrace=False)
else:
    sim_lab = pytest.fixture(_sim_lab_fixture, name="sim_lab")
