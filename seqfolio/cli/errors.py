"""The CLI's user error: printed as one line, ``seqfolio: error: ...``, with exit status 1."""

from __future__ import annotations


class CLIError(Exception):
    """A user error reported as one line."""
