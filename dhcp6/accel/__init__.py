"""Compiled copies of the hot modules (Cython), used only while they match their source.

A simulated renewal spends its time in a few pure-Python modules: the engines, the wire
codec, the lease table and the simulator's driver (build.OWN_MODULES, and the project's
``[tool.dhcp6-accel]`` in pyproject.toml). ``python -m dhcp6.accel build`` (build.py)
compiles those modules, unchanged, with Cython (annotations are not read as C types, so
they keep Python's semantics) into the venv, ``sys.prefix/dhcp6-accel/``, and writes a
manifest of each source's sha256. The bootstrap runs it; ``make`` runs it again when a
module changed.

Importing :mod:`dhcp6` puts a finder first on ``sys.meta_path`` that loads a compiled copy
only while its source still hashes to the manifest's digest. An edited module, a missing
build, another interpreter, or ``DHCP6_PURE=1`` in the environment: the ``.py`` is
imported as usual. Nothing is written into the source tree, so a compiled file can never
shadow the source it came from. tests/test_accel.py runs the simulator both ways and
compares the traces byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import sysconfig
from importlib.abc import MetaPathFinder
from importlib.machinery import ExtensionFileLoader, ModuleSpec, PathFinder
from importlib.util import spec_from_file_location
from pathlib import Path
from typing import Any

PURE_ENV = "DHCP6_PURE"  # set (not empty, not 0): import the .py files only
DIR_ENV = "DHCP6_ACCEL_DIR"  # another build folder (tests)
MANIFEST = "manifest.json"


def accel_dir() -> Path:
    return Path(os.environ.get(DIR_ENV) or Path(sys.prefix) / "dhcp6-accel")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The build's manifest, if it was made for this interpreter (its extension suffix)."""
    try:
        m = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(m, dict) or m.get("ext_suffix") != sysconfig.get_config_var("EXT_SUFFIX"):
        return None
    modules = m.get("modules")
    if not isinstance(modules, dict) or not all(
        isinstance(e, dict) and isinstance(e.get("file"), str) and isinstance(e.get("sha256"), str)
        for e in modules.values()
    ):
        return None  # not a manifest build() wrote: nothing of it is used
    return m


def source_of(name: str, path: list[str] | None = None) -> Path | None:
    """Where the import system finds module ``name``'s ``.py`` (its parent imported)."""
    spec = PathFinder.find_spec(name, path)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


class CompiledFinder(MetaPathFinder):
    """Finds a module of the manifest in the build folder while its source is unchanged."""

    def __init__(self, folder: Path, modules: dict[str, dict[str, str]]) -> None:
        self.folder = folder
        self.modules = modules
        self.loaded: dict[str, str] = {}  # name → the compiled file
        self.stale: dict[str, str] = {}  # name → its source, changed since the build

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        entry = self.modules.get(fullname)
        if entry is None:
            return None
        src = source_of(fullname, path)
        if src is None:
            return None
        so = self.folder / entry["file"]
        try:
            same = digest(src) == entry["sha256"] and so.is_file()
        except OSError:
            return None
        if not same:
            self.stale[fullname] = str(src)
            return None
        self.loaded[fullname] = str(so)
        return spec_from_file_location(fullname, so, loader=ExtensionFileLoader(fullname, str(so)))


def installed() -> CompiledFinder | None:
    for f in sys.meta_path:
        if isinstance(f, CompiledFinder):
            return f
    return None


def pure_requested() -> bool:
    return os.environ.get(PURE_ENV, "") not in ("", "0")


def install() -> CompiledFinder | None:
    """Put the finder first on sys.meta_path (once), unless DHCP6_PURE is set or there is
    no build for this interpreter. Called by dhcp6/__init__.py."""
    f = installed()
    if f is not None or pure_requested():
        return f
    folder = accel_dir()
    m = read_manifest(folder)
    if m is None:
        return None
    f = CompiledFinder(folder, m["modules"])
    sys.meta_path.insert(0, f)
    return f


def describe_loaded() -> str:
    """One line for benchmarks: which hot modules this process runs compiled."""
    f = installed()
    n = len(f.loaded) if f else 0
    if pure_requested():
        return f"pure Python ({PURE_ENV}=1)"
    stale = f" ({len(f.stale)} stale: {', '.join(sorted(f.stale))})" if f and f.stale else ""
    if n == 0:
        return "pure Python" + (stale or " (no compiled build: `python -m dhcp6.accel build`)")
    return f"compiled by Cython: {n} of {len(f.modules)} hot modules{stale}"
