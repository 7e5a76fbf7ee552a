"""The supervisor: one detached process per lab that owns it while it runs.

``lab up`` starts ``python -m lab.run.supervisor``; it builds the lab, hosts our engines,
starts real peers, and answers JSON-line commands on ``<run_dir>/control.sock``
(``status``, ``stop``, ``node``, ``link``). Its progress goes to
``<run_root>/<lab>.up.json`` so ``lab up`` can show it; when it dies, the lab is what
``lab clean`` removes (the builder recorded this process as the owner).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from ..build.state import resolve_run_root
from ..load import TopologyError, load_topology, parse_overrides
from .runtime import LabRuntime


def progress_path(run_root: Path, name: str) -> Path:
    return run_root / f"{name}.up.json"


def log_path(run_root: Path, name: str) -> Path:
    return run_root / f"{name}.supervisor.log"


class Supervisor:
    def __init__(self, runtime: LabRuntime, run_root: Path) -> None:
        self.rt = runtime
        self.run_root = run_root
        self.done = asyncio.Event()
        self.server: asyncio.AbstractServer | None = None

    def report(self, phase: str, done: int = 0, total: int = 0, **extra: Any) -> None:
        data = {
            "pid": os.getpid(),
            "phase": phase,
            "done": done,
            "total": total,
            "t": time.time(),
            **extra,
        }
        tmp = progress_path(self.run_root, self.rt.name).with_suffix(".tmp")
        tmp.write_text(json.dumps(data) + "\n")
        tmp.replace(progress_path(self.run_root, self.rt.name))

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.done.set)
        self.rt.progress = lambda what, done, total: self.report(what, done, total)
        try:
            await self.rt.up()
        except Exception as e:
            self.report("failed", error=str(e).splitlines()[0] if str(e) else type(e).__name__)
            traceback.print_exc()
            return 1
        self.server = await asyncio.start_unix_server(
            self._client, path=str(self.rt.run_dir / "control.sock")
        )
        self.report("running", len(self.rt.nodes), len(self.rt.nodes), run_dir=str(self.rt.run_dir))
        await self.done.wait()
        self.report("stopping")
        self.server.close()
        await self.rt.down()
        progress_path(self.run_root, self.rt.name).unlink(missing_ok=True)
        return 0

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    reply = await self.command(json.loads(line))
                except (
                    Exception
                ) as e:  # a command's failure is its answer, never the supervisor's end
                    reply = {
                        "ok": False,
                        "error": str(e).splitlines()[0] if str(e) else type(e).__name__,
                    }
                writer.write(json.dumps(reply, default=str).encode() + b"\n")
                await writer.drain()
        finally:
            writer.close()

    async def command(self, req: dict[str, Any]) -> dict[str, Any]:
        cmd = req.get("cmd")
        if cmd == "status":
            return {"ok": True, **self.rt.status()}
        if cmd == "stop":
            self.done.set()
            return {"ok": True}
        if cmd == "node":
            node, action = req["node"], req["action"]
            if node not in self.rt.nodes:
                return {
                    "ok": False,
                    "error": f"no node {node!r} (nodes: {', '.join(self.rt.nodes)})",
                }
            if action == "stop":
                await self.rt.stop_node(node)
            elif action == "kill":
                await self.rt.stop_node(node, kill=True)
            elif action == "start":
                await self.rt.start_node(node)
            elif action == "restart":
                await self.rt.restart_node(node)
            else:
                return {"ok": False, "error": f"node action {action!r}: stop, kill, start, restart"}
            return {"ok": True}
        if cmd == "link":
            await self.rt.link(req["link"], req["action"] == "up")
            return {"ok": True}
        return {"ok": False, "error": f"unknown command {cmd!r} (status, stop, node, link)"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m lab.run.supervisor")
    p.add_argument("file")
    p.add_argument("--name", required=True)
    p.add_argument("--set", dest="overrides", action="append", default=[])
    p.add_argument("--run-root")
    p.add_argument("--time-scale", type=float)
    p.add_argument("--pcap", action="store_true")
    args = p.parse_args(argv)
    run_root = resolve_run_root(args.run_root)
    try:
        topo = load_topology(args.file, parse_overrides(args.overrides))
    except TopologyError as e:
        progress_path(run_root, args.name).write_text(
            json.dumps({"phase": "failed", "error": e.errors[0]})
        )
        return 1
    rt = LabRuntime(topo, args.name, run_root=run_root, time_scale=args.time_scale, pcap=args.pcap)
    return asyncio.run(Supervisor(rt, run_root).run())


if __name__ == "__main__":
    sys.exit(main())
