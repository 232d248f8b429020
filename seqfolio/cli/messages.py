"""What the command line prints besides its results: notes and warnings, one line each.

- ``seqfolio: note: ...``: INFO lines of the data loader (e.g. assets left out of the period), of
  the research path (a resumed study) and of the command itself (the warm-up on the user's data, files an earlier run left in ``--out``).
- ``seqfolio: warning: ...``: every ``warnings.warn`` and every WARNING log record of a ``seqfolio``
  logger (``seqfolio.strategies``, ``seqfolio.pipeline``, ...). Inside :func:`run` a warning names
  the run (``HERC monthly: 2022-01-03: buy order for 1726 XOM was rejected (Margin)``) and, when the
  record says where its details are kept (``extra={"details": "orders"}`` or ``"events"``), ends with
  the file of the output folder that lists them (``; see seqfolio-compare/orders.csv``).

Every line goes through ``tqdm.write``, which clears the progress bar, prints the line and draws the
bar again below it, so no message lands inside a bar.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from seqfolio.reporting import EVENTS_FILE, ORDERS_FILE

__all__ = ["DETAILS_FILES", "installed", "note", "run", "write"]

DETAILS_FILES: dict[str, str] = {"orders": ORDERS_FILE, "events": EVENTS_FILE}
"""The file of the output folder that lists the details of a log record's ``details`` kind."""

# INFO records shown as notes come from these loggers only (the strategy's INFO lines are detail)
_NOTE_LOGGERS = ("seqfolio.data", "seqfolio.research", "seqfolio.cli")

_RUN: ContextVar[tuple[str, Path] | None] = ContextVar("seqfolio_cli_run", default=None)


def write(kind: str, text: str) -> None:
    """Print ``seqfolio: <kind>: <first line of text>`` on stderr, above any progress bar."""
    from tqdm.auto import tqdm

    first = text.strip().splitlines()[0] if text.strip() else kind
    tqdm.write(f"seqfolio: {kind}: {first}", file=sys.stderr)


def note(text: str) -> None:
    """A ``seqfolio: note: ...`` line (logged at INFO on ``seqfolio.cli``: none with ``--quiet``)."""
    logging.getLogger("seqfolio.cli").info("%s", text)


def _in_run(text: str, details: str | None = None) -> str:
    """``text`` prefixed by the current run's label and followed by the file holding the details."""
    current = _RUN.get()
    if current is None:
        return text
    label, out = current
    see = DETAILS_FILES.get(details or "")
    return f"{label}: {text}" + (f"; see {out / see}" if see else "")


@contextlib.contextmanager
def run(label: str, out: Path | str) -> Iterator[None]:
    """Within this block, warnings name the run ``label`` and point into the folder ``out``."""
    token = _RUN.set((label, Path(out)))
    try:
        yield
    finally:
        _RUN.reset(token)


class _LineHandler(logging.Handler):
    """Log records as notes (INFO of :data:`_NOTE_LOGGERS`) and warnings (WARNING and above)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logging's own problem
            self.handleError(record)
            return
        if record.levelno >= logging.WARNING:
            write("warning", _in_run(text, getattr(record, "details", None)))
        elif record.name.startswith(_NOTE_LOGGERS):
            write("note", text)


def _show_warning(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
    """``warnings.showwarning`` for the command line: one ``seqfolio: warning:`` line."""
    write("warning", _in_run(str(message).strip() or category.__name__))


@contextlib.contextmanager
def installed(*, quiet: bool) -> Iterator[None]:
    """Route the ``seqfolio`` loggers and ``warnings.warn`` through :func:`write` in this block.

    ``quiet``: no notes and no logged warnings (``warnings.warn`` lines are still printed).
    DeprecationWarnings are ignored. Everything is restored on exit.
    """
    logger = logging.getLogger("seqfolio")
    handler = _LineHandler(level=logging.INFO)
    level = logger.level
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.showwarning = _show_warning
        if quiet:
            logger.setLevel(logging.ERROR)
        else:
            logger.setLevel(logging.INFO)
            logger.addHandler(handler)
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
