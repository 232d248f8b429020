"""zipline-reloaded is an optional extra: imported here, lazily, with a one-line error when missing."""

from __future__ import annotations

from types import ModuleType

__all__ = ["INSTALL_HINT", "ZiplineMissingError", "require_zipline"]

INSTALL_HINT = 'pip install "seqfolio[zipline]"'


class ZiplineMissingError(ImportError):
    """zipline-reloaded is not installed (the message names the extra to install)."""


def require_zipline() -> ModuleType:
    """The ``zipline`` module, or :class:`ZiplineMissingError` naming the extra to install."""
    try:
        import zipline
    except ModuleNotFoundError as exc:
        if exc.name != "zipline":  # zipline is there but one of its own imports is broken: show it
            raise
        raise ZiplineMissingError(
            f"seqfolio's zipline engine needs zipline-reloaded, which is not installed: {INSTALL_HINT}"
        ) from None
    return zipline
