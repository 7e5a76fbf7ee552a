"""What every daemon shares: signals, one-line errors, the trace sink, the clock."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable

from ..trace import Tracer


class UserError(Exception):
    """A mistake of the user's; printed as one line, exit code 2."""


def make_tracer(
    path: str | None, node: str, time_scale: float, epoch: float | None = None
) -> Tracer:
    # DHCP6_EPOCH: the lab passes its start so traces of many processes merge in order.
    if epoch is None:
        epoch = float(os.environ.get("DHCP6_EPOCH", "0") or 0) or None
    return Tracer(path, node, epoch=epoch, time_scale=time_scale)


def install_signals(
    loop: asyncio.AbstractEventLoop, handlers: dict[int, Callable[[], None]]
) -> None:
    for sig, fn in handlers.items():
        loop.add_signal_handler(sig, fn)


def run(main: Callable[[], object]) -> int:
    """Run an async main, turning user errors into one line on stderr and exit 2."""
    try:
        return int(asyncio.run(main()) or 0)  # type: ignore[arg-type]
    except UserError as e:
        print(f"{os.path.basename(sys.argv[0]) or 'dhcp6'}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


TERM_SIGNALS = (signal.SIGTERM, signal.SIGINT)
START = time.time()
