"""Removing labs: ``teardown`` (one lab, by name), ``clean`` (labs whose owner died),
``list_labs``.

Ownership rule, the same everywhere (rollback, teardown, clean): a namespace is removed
only when it is listed in the lab's journal *and* the namespace mounted at that name
today is the very one the lab made — same nsfs device and inode as recorded (a listed
name whose file is a bare, never-mounted mount point is the lab's own reservation and
is removed too). A name pattern alone never removes anything; a namespace someone else
made under a listed name is left alone and reported. Processes are stopped only when
they live in one of those namespaces or are listed, with their start time, in the
lab's ``pids`` file. Interfaces need no separate step: none is ever in the root
namespace, and deleting a namespace deletes its interfaces and their veth peers.

This is containerlab's rule (``destroy --all`` acts on containers carrying its lab
labels, never on "containers launched manually") with the label made unforgeable: the
namespace's identity, recorded before the namespace got its name.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from . import kernel
from . import state as st
from .errors import BuildError

__all__ = ["clean", "list_labs", "remove_lab_dir", "teardown"]


def _remove_namespaces(listed: dict[str, tuple[int, int]]) -> tuple[list[str], list[str]]:
    """Stop processes in, then delete, the listed namespaces that are still ours.

    Returns (failures, foreign): names that could not be removed (with why) and
    listed names now held by a namespace that is not ours (left alone).
    """
    try:
        dir_dev = os.stat(kernel.NETNS_RUN_DIR).st_dev
    except OSError:
        return [], []
    ours: dict[str, tuple[int, int]] = {}
    bare: list[str] = []
    foreign: list[str] = []
    for name, ident in listed.items():
        path = os.path.join(kernel.NETNS_RUN_DIR, name)
        try:
            s = os.stat(path)
        except FileNotFoundError:
            continue
        except OSError:
            foreign.append(name)
            continue
        if (s.st_dev, s.st_ino) == ident:
            ours[name] = ident
        elif s.st_dev == dir_dev and stat.S_ISREG(s.st_mode) and s.st_size == 0:
            bare.append(name)  # reserved (O_EXCL) and journaled, never mounted: a crash
        else:
            foreign.append(name)
    if ours:
        pids = kernel.pids_in_netns(set(ours.values()))
        if pids:
            kernel.kill_pids([(p, None) for p in pids], grace=1.0)
    failures = []
    for name in [*ours, *bare]:
        path = os.path.join(kernel.NETNS_RUN_DIR, name)
        try:
            kernel.umount_detach(path)
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            failures.append(f"{name} ({exc.strerror or exc})")
    return failures, foreign


def remove_lab_dir(run_dir: Path, lab: str) -> list[str]:
    """Remove everything ``run_dir`` owns, then the directory; return foreign names.

    Raises BuildError (one line) if a namespace of the lab could not be removed; the
    run directory is then kept, so a later ``clean()`` can finish the job.
    """
    listed = st.read_journal(run_dir)
    pids = st.read_pids(run_dir)
    if pids:
        kernel.kill_pids(pids, grace=2.0)
    failures, foreign = _remove_namespaces(listed)
    if failures:
        raise BuildError(
            f"lab {lab}: could not remove namespace(s) {', '.join(failures)}; "
            f"state kept in {run_dir} — fix the cause and run clean() / `lab clean` again"
        )
    shutil.rmtree(run_dir, ignore_errors=True)
    return foreign


def teardown(lab: str, run_root: Path | str | None = None) -> None:
    """Remove lab ``lab`` exactly: its processes, namespaces (so interfaces), run dir.

    Works from any process (the owner or not). Refuses a lab that is still being built
    by a live process. Raises BuildError if there is no such lab.
    """
    root = st.resolve_run_root(run_root)
    run_dir = root / lab
    if not lab or "/" in lab or lab.startswith(".") or not run_dir.is_dir():
        raise BuildError(
            f"no lab {lab!r} under {root} (see list_labs() / `lab status` for the labs there)"
        )
    with st.locked(run_dir) as got:
        if not got:
            raise BuildError(f"lab {lab}: another process is removing it right now")
        owner = st.read_owner(run_dir)
        if (
            owner
            and owner.get("state") == "building"
            and owner.get("pid") != os.getpid()
            and st.owner_alive(owner)
        ):
            raise BuildError(
                f"lab {lab} is still being built by pid {owner.get('pid')}; "
                "wait for it (or stop that process) and try again"
            )
        remove_lab_dir(run_dir, lab)


def clean(run_root: Path | str | None = None) -> list[str]:
    """Remove the leftovers of every lab whose owner process is dead; return their names.

    A lab whose owner still runs is never touched, nor is anything not listed in a
    dead lab's state. Half-made run directories of dead processes are removed too.
    """
    root = st.resolve_run_root(run_root)
    removed = []
    errors = []
    for name, run_dir in st.lab_dirs(root):
        if st.owner_alive(st.read_owner(run_dir)):
            continue
        with st.locked(run_dir) as got:
            if not got:
                continue
            # Re-read under the lock: another clean() may have finished it meanwhile.
            if not run_dir.is_dir():
                continue
            try:
                remove_lab_dir(run_dir, name)
            except BuildError as exc:
                errors.append(str(exc))
                continue
        removed.append(name)
    for tmp in st.stale_tmp_dirs(root):
        shutil.rmtree(tmp, ignore_errors=True)
    if errors:
        raise BuildError("; ".join(errors))
    return removed


def list_labs(run_root: Path | str | None = None) -> list[st.LabInfo]:
    """Every lab under the run root: name, owner pid, alive?, namespace count, created."""
    root = st.resolve_run_root(run_root)
    return [st.lab_info(name, run_dir) for name, run_dir in st.lab_dirs(root)]
