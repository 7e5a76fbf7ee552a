"""The setup contract: two README commands, CI runs `make test`, Vagrant uses the bootstrap."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_quick_start_is_two_commands():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```(?:sh|bash)?\n(.*?)```", quick, re.S)
    assert block, "Quick start has no command block"
    assert [ln.strip() for ln in block.group(1).splitlines() if ln.strip()] == [
        "make demo",
        "make test",
    ]


def test_ci_runs_make_test():
    assert re.search(r"^make test$", (ROOT / ".ci/run").read_text(), re.M)


def test_vagrantfile_is_valid_ruby_and_provisions_with_the_bootstrap():
    ruby = shutil.which("ruby")
    assert ruby, "ruby missing: run `make bootstrap` (Debian package ruby)"
    r = subprocess.run(
        [ruby, "-c", str(ROOT / "Vagrantfile")], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0 and "Syntax OK" in r.stdout, r.stderr
    text = (ROOT / "Vagrantfile").read_text()
    assert "debian/bookworm64" in text
    provision = text.split('config.vm.provision "shell"', 1)[1]
    assert "bash scripts/bootstrap.sh" in provision and "make test" in provision


def test_bootstrap_installs_the_peers_and_the_venv():
    text = (ROOT / "scripts/bootstrap.sh").read_text()
    for pkg in (
        "iproute2",
        "tcpdump",
        "kea-dhcp6-server",
        "kea-admin",
        "dnsmasq-base",
        "isc-dhcp-client",
        "isc-dhcp-server",
        "dhcpcd-base",
        "wide-dhcpv6-client",
    ):
        assert re.search(rf"\b{re.escape(pkg)}\b", text), pkg
    assert "-m venv .venv" in text and "pip install" in text and "'.[test,accel]'" in text
    assert "-m dhcp6.accel build" in text  # the hot modules compiled (tests/test_accel.py)


def test_package_never_imports_scapy_and_dhcp6_never_imports_lab():
    for path in (ROOT / "dhcp6").rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+scapy", text, re.M), path
        assert not re.search(r"^\s*(import|from)\s+lab\b", text, re.M), path
    for path in (ROOT / "lab").rglob("*.py"):
        assert not re.search(r"^\s*(import|from)\s+scapy", path.read_text(), re.M), path
