"""The control-socket protocol every daemon and lab supervisor speaks: one JSON object a
line over a unix stream socket, one answer line per request."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any


def request(path: str | Path, req: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
    """Send ``req`` to the socket at ``path`` and return the answer (``{}`` if none).

    Raises OSError when nothing listens there (the callers turn it into one line)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        s.sendall(json.dumps(req).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf or b"{}")
