"""YAML loading that remembers where each value came from, for errors with file:line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A user's file is wrong; the message is one line: where, what, what to do."""


class Marked:
    """Plain Python data from YAML plus the line of every path in it."""

    def __init__(self, data: Any, lines: dict[tuple, int], source: str) -> None:
        self.data = data
        self.lines = lines
        self.source = source

    def where(self, *path: Any) -> str:
        """``file:line`` of the deepest known prefix of ``path``."""
        p = tuple(path)
        while p and p not in self.lines:
            p = p[:-1]
        return f"{self.source}:{self.lines.get(p, 1)}"

    def error(self, path: tuple, problem: str, hint: str = "") -> ConfigError:
        dotted = ".".join(str(x) if not isinstance(x, int) else f"[{x}]" for x in path)
        dotted = dotted.replace(".[", "[")
        msg = f"{self.where(*path)}: {dotted or '(top level)'}: {problem}"
        return ConfigError(msg + (f" — {hint}" if hint else ""))


def _build(node: yaml.Node, path: tuple, lines: dict[tuple, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for k, v in node.value:
            key = (
                yaml.safe_load(yaml.serialize(k)) if not isinstance(k, yaml.ScalarNode) else k.value
            )
            lines[(*path, key)] = k.start_mark.line + 1
            out[key] = _build(v, (*path, key), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(v, (*path, i), lines) for i, v in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def load_marked(text: str, source: str) -> Marked:
    """Parse YAML text; syntax errors become one-line ConfigErrors with file:line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{source}:{line}: YAML syntax error: {problem}") from None
    lines: dict[tuple, int] = {}
    data = _build(node, (), lines) if node is not None else None
    return Marked(data, lines, source)


def load_marked_file(path: str | Path) -> Marked:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    return load_marked(text, str(path))
