"""A lab's ownership records: one run directory per lab, under a run root.

Layout of ``<run_root>/<lab>/`` (default run root ``/run/dhcp6-lab``, or
``$DHCP6_LAB_RUN_ROOT``)::

    owner.json    who owns the lab: {"format", "lab", "build_id", "pid", "start_time",
                  "boot_id", "created", "state": "building"|"built", "topology"}
    namespaces    one line per namespace the lab made: "NAME DEV INO", the nsfs identity
                  of the namespace, appended *before* the namespace gets its name, so a
                  crash at any point leaves every named namespace listed
    lab.json      after a build: node → namespace, interfaces, ifindexes, LAN bridges
    pids          (for the runtime) "PID START_TIME [label]" per process it starts

The run directory is created whole (a temporary directory holding owner.json, renamed
into place), so a lab name is taken atomically and a run directory always has an owner.
The owner is a process named by pid *and* start time (field 22 of /proc/PID/stat) and
the boot id: a reused pid or a state directory from before a reboot is a dead owner.

Nothing here removes anything in the kernel: see :mod:`lab.build.cleanup`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import kernel

__all__ = ["DEFAULT_RUN_ROOT", "LabInfo", "LabState", "record_pid", "resolve_run_root"]

DEFAULT_RUN_ROOT = Path("/run/dhcp6-lab")
RUN_ROOT_ENV = "DHCP6_LAB_RUN_ROOT"
FORMAT = 1
OWNER = "owner.json"
JOURNAL = "namespaces"
LAB_JSON = "lab.json"
PIDS = "pids"
_TMP_PREFIX = ".new-"


def resolve_run_root(run_root: Path | str | None) -> Path:
    if run_root is not None:
        return Path(run_root)
    env = os.environ.get(RUN_ROOT_ENV)
    return Path(env) if env else DEFAULT_RUN_ROOT


@dataclass(frozen=True)
class LabInfo:
    """One lab as its run directory describes it (see :func:`lab.build.list_labs`)."""

    name: str
    run_dir: Path
    owner_pid: int | None
    alive: bool  # the owner process still runs
    namespaces: int  # namespaces listed in its journal
    created: float | None  # epoch seconds
    state: str  # "building", "built", or "broken" (no readable owner.json)


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


class LabState:
    """The run directory of one lab, as its owner (the building process) writes it."""

    def __init__(self, run_dir: Path, owner: dict[str, Any]) -> None:
        self.run_dir = run_dir
        self.owner = owner
        self._journal_fd: int | None = None

    # ------------------------------------------------------------------ creation

    @classmethod
    def create(cls, run_root: Path, lab: str, build_id: str, topology: str) -> LabState:
        """Take the name ``lab`` under ``run_root`` for this process; FileExistsError if taken."""
        run_root.mkdir(parents=True, exist_ok=True, mode=0o755)
        pid = os.getpid()
        start = kernel.proc_start_time(pid)
        owner = {
            "format": FORMAT,
            "lab": lab,
            "build_id": build_id,
            "pid": pid,
            "start_time": start,
            "boot_id": kernel.boot_id(),
            "created": time.time(),
            "state": "building",
            "topology": topology,
        }
        tmp = run_root / f"{_TMP_PREFIX}{lab}.{pid}.{build_id}"
        tmp.mkdir(mode=0o755)
        try:
            _write_json_atomic(tmp / OWNER, owner)
            (tmp / JOURNAL).touch()
            final = run_root / lab
            try:
                # rename(2) onto an existing non-empty directory fails: the name is taken.
                os.rename(tmp, final)
            except OSError as exc:
                if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
                    raise FileExistsError(exc.errno, "lab name in use", str(final)) from None
                raise
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        state = cls(final, owner)
        state._journal_fd = os.open(final / JOURNAL, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        return state

    def record_namespace(self, name: str, ident: tuple[int, int]) -> None:
        """Append "NAME DEV INO" to the journal (one write(2): a crash can't split it)."""
        assert self._journal_fd is not None
        os.write(self._journal_fd, f"{name} {ident[0]} {ident[1]}\n".encode())

    def retract_namespace(self, name: str) -> None:
        """Append "NAME - -": the name recorded last was not reserved by this lab (someone
        else holds it), so nothing may ever remove it on the lab's behalf."""
        assert self._journal_fd is not None
        os.write(self._journal_fd, f"{name} - -\n".encode())

    def mark_built(self, lab_json: dict[str, Any]) -> None:
        _write_json_atomic(self.run_dir / LAB_JSON, lab_json)
        self.owner = {**self.owner, "state": "built"}
        _write_json_atomic(self.run_dir / OWNER, self.owner)
        self.close()

    def close(self) -> None:
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None

    def remove(self) -> None:
        self.close()
        shutil.rmtree(self.run_dir, ignore_errors=True)


def record_pid(run_dir: Path, pid: int, label: str = "") -> None:
    """Append a process the lab started to ``pids`` ("PID START_TIME label"), for the
    runtime: teardown and clean stop it (only if it is still that process)."""
    start = kernel.proc_start_time(pid)
    if start is None:
        return
    line = f"{pid} {start} {label}".rstrip() + "\n"
    fd = os.open(run_dir / PIDS, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


# ---------------------------------------------------------------------- reading


def read_owner(run_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((run_dir / OWNER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def owner_alive(owner: dict[str, Any] | None) -> bool:
    if not owner:
        return False
    try:
        return kernel.process_alive(
            int(owner["pid"]), int(owner["start_time"]), str(owner.get("boot_id", ""))
        )
    except (KeyError, TypeError, ValueError):
        return False


def read_journal(run_dir: Path) -> dict[str, tuple[int, int]]:
    """Namespace name → (dev, ino) as recorded (a retracted name dropped); a torn last
    line is skipped."""
    out: dict[str, tuple[int, int]] = {}
    try:
        text = (run_dir / JOURNAL).read_text()
    except OSError:
        return out
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        if parts[1:] == ["-", "-"]:  # retract_namespace
            out.pop(parts[0], None)
            continue
        try:
            out[parts[0]] = (int(parts[1]), int(parts[2]))
        except ValueError:
            continue
    return out


def read_pids(run_dir: Path) -> list[tuple[int, int | None]]:
    """(pid, start time) pairs from the runtime's ``pids`` file (missing file: none)."""
    out: list[tuple[int, int | None]] = []
    try:
        text = (run_dir / PIDS).read_text()
    except OSError:
        return out
    for line in text.splitlines():
        parts = line.split()
        try:
            pid = int(parts[0])
            start = int(parts[1]) if len(parts) > 1 else None
        except (IndexError, ValueError):
            continue
        out.append((pid, start))
    return out


def lab_dirs(run_root: Path) -> Iterator[tuple[str, Path]]:
    """(lab, run_dir) of every lab under ``run_root``, sorted; temporary dirs skipped."""
    try:
        entries = sorted(os.scandir(run_root), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
            continue
        yield entry.name, Path(entry.path)


def stale_tmp_dirs(run_root: Path) -> Iterator[Path]:
    """Half-made run directories (``.new-…``) whose creating process is gone."""
    try:
        entries = list(os.scandir(run_root))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(_TMP_PREFIX) and entry.is_dir(follow_symlinks=False):
            path = Path(entry.path)
            if not owner_alive(read_owner(path)):
                yield path


def lab_info(name: str, run_dir: Path) -> LabInfo:
    owner = read_owner(run_dir)
    pid = None
    created = None
    state = "broken"
    if owner:
        with contextlib.suppress(KeyError, TypeError, ValueError):
            pid = int(owner["pid"])
        created = owner.get("created")
        state = str(owner.get("state", "broken"))
    return LabInfo(
        name=name,
        run_dir=run_dir,
        owner_pid=pid,
        alive=owner_alive(owner),
        namespaces=len(read_journal(run_dir)),
        created=float(created) if isinstance(created, int | float) else None,
        state=state,
    )


@contextlib.contextmanager
def locked(run_dir: Path) -> Iterator[bool]:
    """flock(LOCK_EX|LOCK_NB) on the run directory; yields False if another holds it."""
    try:
        fd = os.open(run_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(fd)
