"""The builder's one exception type."""

from __future__ import annotations

__all__ = ["BuildError"]


class BuildError(RuntimeError):
    """A lab could not be built, torn down or cleaned.

    ``str(e)`` is one line a person can act on: what was wrong, where (lab, node,
    interface, namespace), and what to do. No traceback is needed to understand it.
    """
