"""The one exception the codec raises for bad input."""

from __future__ import annotations

from ..constants import option_name


class ParseError(ValueError):
    """Malformed DHCPv6 bytes.

    ``offset`` is the byte offset from the start of the outermost message where the
    problem was found, ``option`` names the option (or ``header``) being decoded.
    """

    def __init__(self, offset: int, option: str | tuple[int, ...], reason: str) -> None:
        if isinstance(option, tuple):  # a path of option codes, named only when it fails
            option = label(option)
        self.offset = offset
        self.option = option
        self.reason = reason
        super().__init__(f"offset {offset}: {option}: {reason}")


def label(path: tuple[int, ...]) -> str:
    """``(3, 5)`` → ``IA_NA/IAADDR``; the empty path is the message's option list."""
    return "/".join(option_name(c) for c in path) or "options"
