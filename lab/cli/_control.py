"""Talking to a running lab's supervisor, and finding labs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dhcp6.control import request

from ..build.state import resolve_run_root


class LabNotRunning(Exception):
    pass


def run_root(arg: str | None = None) -> Path:
    return resolve_run_root(arg)


def control_path(name: str, root: Path) -> Path:
    return root / name / "control.sock"


def ask(name: str, cmd: dict[str, Any], root: Path, timeout: float = 30.0) -> dict[str, Any]:
    path = control_path(name, root)
    if not path.exists():
        raise LabNotRunning(f"lab {name!r} is not running (no {path}); see `lab list`")
    try:
        return request(path, cmd, timeout)
    except OSError as e:
        raise LabNotRunning(f"lab {name!r}: its supervisor does not answer ({e.strerror or e}); "
                            "`lab clean` removes a lab whose supervisor died") from None  # fmt: skip


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
