"""Compiling the hot modules (:func:`hot_modules`) with Cython into the build folder."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
import sysconfig
import tempfile
import time
import tomllib
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import Any

from . import MANIFEST, PURE_ENV, accel_dir, digest, pure_requested, read_manifest, source_of

#: dhcp6's modules a simulated renewal runs through (py-spy and callgrind on bench/sim.py)
OWN_MODULES = (
    "dhcp6.wire.message",
    "dhcp6.wire.options",
    "dhcp6.wire.describe",
    "dhcp6.engine.actions",
    "dhcp6.engine.retransmit",
    "dhcp6.engine.client_table",
    "dhcp6.engine.client",
    "dhcp6.engine.server_table",
    "dhcp6.engine.server",
    "dhcp6.leases.model",
    "dhcp6.leases.table",
)

# Cython's defaults keep Python semantics (safe type inference only); annotations are not
# read as C types (ours say what a value is, not that it fits a C long or double).
DIRECTIVES = {"annotation_typing": False}


class AccelError(Exception):
    """A build that cannot be done: one line."""


def hot_modules() -> tuple[str, ...]:
    """OWN_MODULES and the project's ``extra_modules`` (``[tool.dhcp6-accel]`` in the
    pyproject.toml beside the dhcp6 package, in a checkout: the simulator's driver, which
    dhcp6 does not import)."""
    pp = Path(__file__).resolve().parents[2] / "pyproject.toml"
    try:
        extra = tomllib.loads(pp.read_text())["tool"]["dhcp6-accel"]["extra_modules"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return OWN_MODULES
    if not isinstance(extra, list) or not all(isinstance(m, str) for m in extra):
        raise AccelError(f"{pp}: [tool.dhcp6-accel] extra_modules must be a list of module names")
    return OWN_MODULES + tuple(m for m in extra if m not in OWN_MODULES)


def status(folder: Path | None = None, modules: tuple[str, ...] | None = None) -> dict[str, str]:
    """Each module: "compiled" (current), "stale" (its source changed), "missing"."""
    folder = folder or accel_dir()
    modules = modules or hot_modules()
    m = read_manifest(folder)
    have = m["modules"] if m else {}
    out = {}
    for name in modules:
        src = _source(name)
        e = have.get(name)
        if e is None or not (folder / e["file"]).is_file():
            out[name] = "missing"
        else:
            out[name] = "compiled" if digest(src) == e["sha256"] else "stale"
    return out


def describe_build() -> str:
    """One line for a benchmark whose engines run in other processes: what they import."""
    if pure_requested():
        return f"pure Python ({PURE_ENV}=1)"
    try:
        st = status()
    except AccelError as e:
        return f"unknown ({e})"
    n = sum(1 for s in st.values() if s == "compiled")
    if n == 0:
        return "pure Python (no compiled build: `python -m dhcp6.accel build`)"
    return f"compiled by Cython: {n} of {len(st)} hot modules current"


def _source(name: str) -> Path:
    """A module's source file, found without importing it (its package is imported)."""
    parent, _, _ = name.rpartition(".")
    path = None
    if parent:
        __import__(parent)
        path = sys.modules[parent].__path__
    src = source_of(name, path)
    if src is None:
        raise AccelError(f"module {name}: no .py source found (is it a package or missing?)")
    return src


def build(modules: tuple[str, ...] | None = None, folder: Path | None = None, *, jobs: int = 0,
          force: bool = False, log: Any = None) -> list[str]:  # fmt: skip
    """Compile the stale or missing ``modules`` into ``folder``; return their names.

    Built in a temporary folder next to it, then the compiled files and the manifest
    replace the old ones (a failed build leaves the old build as it was)."""
    folder = folder or accel_dir()
    modules = modules or hot_modules()
    todo = [n for n, s in status(folder, modules).items() if force or s != "compiled"]
    if not todo:
        return []
    try:
        from Cython import __version__ as cython_version
        from Cython.Build import cythonize
        from setuptools import Distribution, Extension
    except ImportError as e:
        raise AccelError(f"cannot compile: {e.name} is not installed "
                         "(pip install cython setuptools)") from None  # fmt: skip
    sources = {n: _source(n) for n in todo}
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".dhcp6-accel-", dir=folder.parent))
    try:
        digests = {n: digest(p) for n, p in sources.items()}  # what is compiled
        exts = [Extension(n, [str(p)]) for n, p in sources.items()]
        jobs = jobs or os.cpu_count() or 1
        if log:
            log(f"dhcp6.accel: compiling {len(todo)} modules with Cython {cython_version} "
                f"({jobs} jobs) into {folder} …")  # fmt: skip
        t0 = time.perf_counter()
        try:
            exts = cythonize(exts, build_dir=str(work / "c"), language_level=3, nthreads=jobs,
                             compiler_directives=DIRECTIVES, quiet=True, force=True)  # fmt: skip
            dist = Distribution({"ext_modules": exts, "script_name": "dhcp6-accel"})
            cmd = dist.get_command_obj("build_ext")
            cmd.build_lib, cmd.build_temp = str(work / "lib"), str(work / "obj")  # type: ignore[attr-defined]
            cmd.parallel = jobs  # type: ignore[attr-defined]
            _quiet_run(dist)
        except Exception as e:  # Cython's CompileError, the C compiler's, …: one line
            text = str(e).splitlines()[0] if str(e) else ""
            raise AccelError(f"cannot compile ({type(e).__name__}: {text}; the compiler's "
                             "errors are above)") from None  # fmt: skip
        m = read_manifest(folder) or {"modules": {}}
        m["ext_suffix"] = sysconfig.get_config_var("EXT_SUFFIX")
        m["python"] = sys.version.split()[0]
        m["cython"] = cython_version
        folder.mkdir(parents=True, exist_ok=True)
        for name in todo:
            if digest(sources[name]) != digests[name]:
                continue  # edited while it compiled: left stale, for the next build
            rel = Path(*name.split(".")).with_suffix(EXTENSION_SUFFIXES[0])
            built = work / "lib" / rel
            if not built.is_file():
                raise AccelError(f"cannot compile {name}: {built.name} was not made")
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            # a new file under the old name: a process that loaded the old one keeps it
            tmp = folder / rel.with_name(rel.name + ".new")
            shutil.copyfile(built, tmp)
            os.replace(tmp, folder / rel)
            m["modules"][name] = {"file": str(rel), "sha256": digests[name]}
        tmp_manifest = folder / (MANIFEST + ".new")
        tmp_manifest.write_text(json.dumps(m, indent=1, sort_keys=True) + "\n")
        os.replace(tmp_manifest, folder / MANIFEST)
        if log:
            log(f"dhcp6.accel: {len(todo)} modules compiled in {time.perf_counter() - t0:.0f} s")
        return todo
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _quiet_run(dist: Any) -> None:
    """build_ext, its compiler's command lines kept off the terminal (errors still show)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        dist.run_command("build_ext")


def clean(folder: Path | None = None) -> bool:
    folder = folder or accel_dir()
    if not folder.exists():
        return False
    shutil.rmtree(folder)
    return True
