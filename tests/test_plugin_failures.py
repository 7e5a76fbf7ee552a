"""What a newcomer meets: the README's YAML-only test and pytest test pass as written;
with a wrong lease or timer they fail with a message naming file:line and the node's
last states; --lab-artifacts keeps the evidence, --lab-keep the lab; nothing else stays.
Each run is a pytest in a subprocess, in a temporary directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lab.pytest_plugin import _base36

pytestmark = [pytest.mark.netns]
ROOT = Path(__file__).resolve().parent.parent


def readme_examples() -> tuple[str, str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Testing with labs") :]
    yaml_block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    py_block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    return yaml_block, py_block


@pytest.fixture
def project(tmp_path):
    """A directory like a newcomer's: topologies/two-clients.yaml, tests/test_two_clients.py."""
    yaml_text, py_text = readme_examples()
    (tmp_path / "topologies").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "topologies" / "two-clients.yaml").write_text(yaml_text)
    (tmp_path / "tests" / "test_two_clients.py").write_text(py_text)
    yield tmp_path
    runs = tmp_path / "runs"
    if runs.is_dir():  # a kept or crashed lab: remove it by its own records
        for d in runs.iterdir():
            if d.is_dir():
                lab_cli("down", d.name, "--run-root", str(runs))


def lab_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab.cli", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)  # fmt: skip


class Run:
    def __init__(self, returncode: int, stdout: str, stderr: str, pid: int) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr
        self.labs = f"t{_base36(pid)}-"  # every lab this pytest made is named so


def run_pytest(cwd: Path, *args: str, timeout: float = 240) -> Run:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "DHCP6_LAB_RUN_ROOT"))}  # fmt: skip
    p = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                          "--rootdir", str(cwd), "--lab-run-root", str(cwd / "runs"), *args],
                         cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    out, err = p.communicate(timeout=timeout)
    return Run(p.returncode, out, err, p.pid)


def left(run: Run) -> set[str]:
    """Namespaces of that run's labs still there."""
    return {n for n in namespaces() if n.startswith(run.labs)}


def namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {ln.split()[0] for ln in out.splitlines() if ln.strip()}


def line_of(path: Path, needle: str) -> int:
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if needle in ln)


def test_readme_examples_pass_as_written(project):
    r = run_pytest(project, "topologies/two-clients.yaml", "tests/test_two_clients.py")
    assert r.returncode == 0 and "2 passed" in r.stdout, r.stdout + r.stderr
    assert not left(r)  # every namespace the run made is gone
    assert not any((project / "runs").iterdir())


def test_wrong_yaml_expectations_name_file_line_and_last_states(project):
    f = project / "topologies" / "two-clients.yaml"
    text = f.read_text()
    text = text.replace("c1: {state: BOUND, lease_in: 2001:db8:1::/64, renewed: 1}",
                        "c1: {state: BOUND, lease_in: 2001:db8:9::/64}")  # fmt: skip
    text = text.replace("c2: {state: BOUND, seen: [SOLICIT, REPLY], never_seen: DECLINE}",
                        "c2: {state: BOUND, renewed: 40, never_seen: ADVERTISE}")  # fmt: skip
    f.write_text(text)
    art = project / "art"
    r = run_pytest(project, "topologies/two-clients.yaml", "--lab-artifacts", str(art))
    out = r.stdout
    assert r.returncode == 1, out + r.stderr
    c1, c2 = line_of(f, "  c1: {state"), line_of(f, "  c2: {state")
    assert f"topologies/two-clients.yaml:{c1}: c1: expected lease_in: 2001:db8:9::/64 within 30 s, but " \
           "its leases are 2001:db8:1::" in out  # fmt: skip
    assert re.search(rf"topologies/two-clients.yaml:{c2}: c2: expected renewed: 40 within 30 s, but it "
                     r"renewed \d time\(s\)", out)  # fmt: skip
    assert (
        f"topologies/two-clients.yaml:{c2}: c2: expected never_seen: ADVERTISE, but it saw ADVERTISE"
        in out
    )
    assert "c1 last states:" in out and "REQUEST → BOUND (Reply with leases)" in out
    assert "c2 last messages:" in out and "Traceback" not in out
    # the evidence, copied before teardown; nothing else left
    [saved] = list(art.glob("*/*"))
    assert (saved / "trace.jsonl").stat().st_size > 0 and (saved / "traces" / "c1.jsonl").exists()
    assert (saved / "nodes" / "s1" / "server.yaml").exists() and "c1: expected" in (
        saved / "failure.txt"
    ).read_text()
    assert "artifacts of failed tests" in out and saved.name.startswith(r.labs) and not left(r)
    assert not any((project / "runs").iterdir())


def test_wrong_pytest_expectations_show_the_line_and_last_states(project):
    f = project / "tests" / "test_two_clients.py"
    f.write_text(
        f.read_text().replace("lease.t1 == 20", "lease.t1 == 30")
        + """

@pytest.mark.lab("topologies/two-clients.yaml")
def test_waits_for_a_rebind_that_never_comes(lab):
    lab.wait_for("c1", state="REBIND", within=3)
"""
    )
    art = project / "art"
    r = run_pytest(project, "tests/test_two_clients.py", "--lab-pcap", "--lab-artifacts", str(art))
    out = r.stdout
    assert r.returncode == 1 and "2 failed" in out, out + r.stderr
    for saved in art.glob("*/*"):  # each failed test's lab, with its capture (--lab-pcap)
        assert (saved / "pcap" / "lan1.pcap").stat().st_size > 24 and (
            saved / "trace.jsonl"
        ).exists()
    assert len(list(art.glob("*/*"))) == 2
    assert f"tests/test_two_clients.py:{line_of(f, 'lease.t1 == 30')}: AssertionError" in out
    assert "20 = Lease(node='c1'" in out  # pytest's own rewriting shows the lease
    rebind = line_of(f, 'state="REBIND"')
    assert f"tests/test_two_clients.py:{rebind}: LabAssertionError" in out
    assert "c1: no state REBIND within 3 s (protocol time; time scale 10)" in out
    assert (
        "c1 last states:" in out and "c1 last messages:" in out and "c1 leases: 2001:db8:1::" in out
    )
    assert "deadline = time.monotonic()" not in out  # the handle's own frames are hidden
    assert not any((project / "runs").iterdir()) and not left(r)


def test_lab_keep_leaves_a_failed_lab_up_and_says_how_to_inspect_it(project):
    f = project / "tests" / "test_two_clients.py"
    f.write_text(f.read_text().replace("lease.t1 == 20", "lease.t1 == 30"))
    r = run_pytest(project, "tests/test_two_clients.py", "--lab-keep")
    assert r.returncode == 1, r.stdout + r.stderr
    m = re.search(r"lab status (\S+)", r.stdout)
    assert m and "labs kept up after failures" in r.stdout, r.stdout
    name = m.group(1)
    assert f"lab down {name}" in r.stdout and f"lab exec {name} s1 -- ip -6 addr" in r.stdout
    kept = {n for n in namespaces() if n.startswith(f"{name}-")}
    assert kept == {f"{name}-s1", f"{name}-c1", f"{name}-c2", f"{name}--lan1"}
    down = lab_cli("down", name, "--run-root", str(project / "runs"))
    assert down.returncode == 0, down.stderr
    assert not {n for n in namespaces() if n.startswith(f"{name}-")}


def test_parallel_workers_under_xdist(project):
    pytest.importorskip("xdist")
    r = run_pytest(project, "-n", "2", "-p", "xdist", "topologies/two-clients.yaml", "tests/test_two_clients.py",
                   str(ROOT / "topologies" / "basic.yaml"))  # fmt: skip
    assert r.returncode == 0 and "3 passed" in r.stdout, r.stdout + r.stderr
    gw = {n for n in namespaces() if n.startswith(("gw0", "gw1"))}
    assert not any((project / "runs").iterdir()), gw


def test_time_scale_option_applies_to_labs_of_ours_only(project):
    (project / "tests" / "test_scale.py").write_text(
        "import pytest\n\n\n"
        '@pytest.mark.lab("topologies/two-clients.yaml")\n'
        "def test_scale(lab):\n"
        "    assert lab.time_scale == 20\n"
        '    lab.wait_for("c1", state="BOUND", within=10)\n'
        '    assert lab.events("c1", "send")[0]["pt"] > 0\n'
    )
    r = run_pytest(project, "tests", "--lab-time-scale", "20")
    assert r.returncode == 0 and "2 passed" in r.stdout, r.stdout + r.stderr
    assert not left(r)
