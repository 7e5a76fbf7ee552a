"""Talking to a running lab's supervisor, and finding labs."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

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
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(path))
            s.sendall(json.dumps(cmd).encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                buf += chunk
    except OSError as e:
        raise LabNotRunning(f"lab {name!r}: its supervisor does not answer ({e.strerror or e}); "
                            "`lab clean` removes a lab whose supervisor died") from None  # fmt: skip
    return json.loads(buf or b"{}")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
