"""`lab` command line (grows with the lab issue)."""

import sys


def main(argv: list[str] | None = None) -> int:
    print("lab: the emulation lab is not built yet; see the open issues", file=sys.stderr)
    return 2
