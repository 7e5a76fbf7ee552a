"""The one exception the codec raises for bad input."""

from __future__ import annotations


class ParseError(ValueError):
    """Malformed DHCPv6 bytes.

    ``offset`` is the byte offset from the start of the outermost message where the
    problem was found, ``option`` names the option (or ``header``) being decoded.
    """

    def __init__(self, offset: int, option: str, reason: str) -> None:
        self.offset = offset
        self.option = option
        self.reason = reason
        super().__init__(f"offset {offset}: {option}: {reason}")
