"""``python -m dhcp6.accel build|status|clean``: see dhcp6/accel/__init__.py."""

from __future__ import annotations

import argparse
import sys

from . import PURE_ENV, accel_dir, pure_requested
from .build import AccelError, build, clean, hot_modules, status

EPILOG = """\
examples:
  python -m dhcp6.accel build          compile what is missing or changed (the bootstrap
                                       and make run this)
  python -m dhcp6.accel status         which hot modules run compiled, which are stale
  DHCP6_PURE=1 lab sim topologies/basic.yaml
                                       run the pure-Python modules only
  python -m dhcp6.accel clean          remove the compiled build
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m dhcp6.accel",
        description="Compile the simulator's and engines' hot modules with Cython into "
        f"the venv ({accel_dir()}); a copy is used only while its source is unchanged.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="compile the missing or changed modules")
    b.add_argument("--force", action="store_true", help="compile every module again")
    b.add_argument("-q", "--quiet", action="store_true", help="say nothing when all is current")
    b.add_argument("-j", "--jobs", type=int, default=0, help="compiler jobs (default: CPUs)")
    sub.add_parser("status", help="list the hot modules: compiled, stale or missing")
    sub.add_parser("clean", help="remove the compiled build")
    a = ap.parse_args(argv)
    folder = accel_dir()
    if a.cmd == "build":
        try:
            done = build(folder=folder, jobs=a.jobs, force=a.force,
                         log=lambda s: print(s, file=sys.stderr, flush=True))  # fmt: skip
        except AccelError as e:
            print(f"dhcp6.accel: {e}; the pure-Python modules are used", file=sys.stderr)
            return 1
        if not done and not a.quiet:
            print(f"dhcp6.accel: all {len(hot_modules())} modules are compiled and current "
                  f"({folder})")  # fmt: skip
        return 0
    if a.cmd == "status":
        try:
            st = status(folder)
        except AccelError as e:
            print(f"dhcp6.accel: {e}", file=sys.stderr)
            return 1
        for name, s in st.items():
            print(f"{s:9} {name}")
        n = sum(1 for s in st.values() if s == "compiled")
        note = "" if n == len(st) else "; run `python -m dhcp6.accel build`"
        pure = f"; {PURE_ENV} is set: none are used" if pure_requested() else ""
        print(f"{n} of {len(st)} compiled and current in {folder}{note}{pure}")
        return 0
    print("dhcp6.accel: removed " + str(folder) if clean(folder) else "dhcp6.accel: no build")
    return 0


if __name__ == "__main__":
    sys.exit(main())
