"""Errors a person reads: one line each, ``file:line: path: problem — hint``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class TopologyError(ValueError):
    """The topology is wrong. ``errors`` holds one-line messages, sorted by file and line."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))

    def __str__(self) -> str:
        return "\n".join(self.errors)


def dotted(path: tuple) -> str:
    """``("nodes", "c1", "addresses", 0)`` → ``nodes.c1.addresses[0]``."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def format_error(
    source: str, line: int | None, path: tuple | str, problem: str, hint: str = ""
) -> str:
    where = f"{source}:{line}" if line else source
    what = path if isinstance(path, str) else dotted(path)
    msg = f"{where}: {what}: {problem}" if what else f"{where}: {problem}"
    return f"{msg} — {hint}" if hint else msg


@dataclass(order=True)
class _Item:
    rank: int  # 0: command line, 1: the topology, 2: other files
    source: str
    line: int
    seq: int
    text: str = field(compare=False)


class Problems:
    """Collects errors so that all of them are reported together, in file order."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._items: list[_Item] = []
        self._seen: set[str] = set()

    def add(
        self,
        line: int | None,
        path: tuple | str,
        problem: str,
        hint: str = "",
        *,
        source: str | None = None,
    ) -> None:
        src = source or self.source
        self.add_text(format_error(src, line, path, problem, hint), src, line or 0)

    def add_text(self, text: str, source: str | None = None, line: int = 0) -> None:
        if text in self._seen:
            return
        self._seen.add(text)
        src = source if source is not None else self.source
        rank = 0 if src.startswith("--set") else (1 if src == self.source else 2)
        self._items.append(_Item(rank, src, line, len(self._items), text))

    def __bool__(self) -> bool:
        return bool(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def messages(self) -> list[str]:
        return [i.text for i in sorted(self._items)]

    def raise_if_any(self) -> None:
        if self._items:
            raise TopologyError(self.messages())


class Stop(Exception):
    """Raised inside the loader when a phase cannot go on; its errors are in Problems."""


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def short_list(names: list[Any], limit: int = 5) -> str:
    names = [str(n) for n in names]
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} and {len(names) - limit} more"
