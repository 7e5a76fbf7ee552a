"""The HTML report in a real browser: headless Chromium (Debian's `chromium`) renders it,
takes a screenshot, and dumps the DOM, in which a probe script (added to a copy; the
report itself has no script) recorded the rendered size of every SVG and table. No
console message may appear. Reports from a folder of traces and from a real lab.

Set DHCP6_LAB_SCREENSHOTS=DIR to keep the screenshots (to look at them)."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "tests" / "data" / "observe" / "relay_run"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]  # fmt: skip

#: Runs after the page is laid out; writes what it measured into <body data-probe>.
PROBE = """<script>
(function () {
  const out = {sections: {}, tables: {}};
  for (const s of document.querySelectorAll("section[id]")) {
    const svgs = [...s.querySelectorAll("svg")].map(function (svg) {
      const r = svg.getBoundingClientRect();
      const texts = [...svg.querySelectorAll("text")];
      return {w: r.width, h: r.height, texts: texts.length,
              drawn: texts.filter(function (t) { return t.getComputedTextLength() > 0; }).length,
              shapes: svg.querySelectorAll("line, path, polygon, rect, ellipse").length};
    });
    out.sections[s.id] = {svgs: svgs, height: s.getBoundingClientRect().height};
  }
  for (const t of document.querySelectorAll("table[class]")) {
    out.tables[t.className] = {rows: t.querySelectorAll("tbody tr").length,
                               height: t.getBoundingClientRect().height};
  }
  document.body.setAttribute("data-probe", JSON.stringify(out));
})();
</script></body>"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium (apt-get install chromium chromium-driver)")


def browse(html: Path, tmp: Path, size: str = "1400,2400") -> tuple[dict, str, Path]:
    """(what the probe measured, Chromium's stderr, the screenshot)."""
    exe = chromium()
    probe = tmp / "probe.html"
    probe.write_text(
        html.read_text(encoding="utf-8").replace("</body>", PROBE, 1), encoding="utf-8"
    )
    logs = []
    r = subprocess.run([exe, *FLAGS, f"--user-data-dir={tmp / 'profile-dom'}", "--dump-dom",
                        probe.as_uri()], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    logs.append(r.stderr)
    m = re.search(r'data-probe="([^"]*)"', r.stdout)
    assert m, "the probe did not run: " + r.stdout[:500]
    measured = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    shot = tmp / f"{html.stem}.png"
    r = subprocess.run([exe, *FLAGS, f"--user-data-dir={tmp / 'profile-shot'}", f"--window-size={size}",
                        f"--screenshot={shot}", html.as_uri()], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    logs.append(r.stderr)
    keep = os.environ.get("DHCP6_LAB_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy2(shot, Path(keep) / shot.name)
    return measured, "\n".join(logs), shot


def console_messages(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]


def png_facts(path: Path) -> tuple[int, int, int]:
    """(width, height, number of distinct byte values in the image data) — a blank page
    has very few."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + n]
        pos += 12 + n
    return w, h, len(set(zlib.decompress(idat)))


def check_page(measured: dict, stderr: str, shot: Path, *, clients: int) -> None:
    assert console_messages(stderr) == []
    secs = measured["sections"]
    for sid in ("topology", "timelines", "ladder"):
        svgs = secs[sid]["svgs"]
        assert svgs, f"no SVG in #{sid}"
        first = svgs[0]
        assert first["w"] > 200 and first["h"] > 80, (sid, first)
        assert first["texts"] > 3 and first["drawn"] == first["texts"], (sid, first)
        assert first["shapes"] > 5, (sid, first)
    assert len(secs["ladder"]["svgs"]) >= 1 + clients  # all exchanges, then each client's
    tables = measured["tables"]
    assert tables["nodes"]["rows"] >= clients + 1 and tables["nodes"]["height"] > 50
    assert tables["leases"]["rows"] >= clients and tables["leases"]["height"] > 30
    w, h, distinct = png_facts(shot)
    assert (w, h) == (1400, 2400) and distinct > 50


def test_report_from_a_folder_renders(tmp_path):
    out = tmp_path / "relay-report.html"
    r = subprocess.run([sys.executable, "-m", "lab.cli", "report", "--from", str(RUN), "-o", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    measured, stderr, shot = browse(out, tmp_path)
    check_page(measured, stderr, shot, clients=2)
    assert measured["tables"]["drops"]["rows"] == 2 and measured["tables"]["errors"]["rows"] == 1


def lab(*args: str, root: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "DHCP6_LAB_RUN_ROOT": str(root)}
    return subprocess.run([sys.executable, "-m", "lab.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)  # fmt: skip


@pytest.mark.netns
def test_report_of_a_real_lab_renders(tmp_path):
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("needs root and Linux network namespaces")
    chromium()
    root = tmp_path / "labs"
    out = tmp_path / "basic-report.html"
    try:
        r = lab("up", "topologies/basic.yaml", "--name", "rb", "--wait-bound", "30", root=root)
        assert r.returncode == 0, r.stdout + r.stderr
        r = lab("report", "rb", "-o", str(out), root=root)
        assert r.returncode == 0, r.stderr
    finally:
        lab("down", "rb", root=root)
        lab("clean", root=root)
    html = out.read_text(encoding="utf-8")
    assert "<b>running</b> at report time" in html and "topologies/basic.yaml" in html
    measured, stderr, shot = browse(out, tmp_path)
    check_page(measured, stderr, shot, clients=3)
    ladder = measured["sections"]["ladder"]["svgs"][0]
    assert ladder["texts"] > 20  # Solicit/Advertise/Request/Reply for three clients, and notes
