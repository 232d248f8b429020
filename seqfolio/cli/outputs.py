"""The output folder of a command: which files this run wrote, and what an earlier run left there.

The rule every command follows (README, "Output folders"): an output folder holds one run's report.

- Each command has its own default folder (``seqfolio-report``, ``seqfolio-compare``,
  ``seqfolio-walkforward``, ``seqfolio-tune``), so running the README's commands in order never
  mixes two commands' files.
- A run removes the report files of its own command that it did not write this time (e.g. the tear
  sheet of an allocator an earlier ``compare`` ran and this one does not, an ``overfitting.md`` of a
  study that now has one configuration), so no file in the folder is taken for this run's by mistake;
  a note names them.
- Any other file in the folder (another command's report, the user's own) is left alone and named in
  one note.
- Caches are never removed: ``checkpoints/`` (walk-forward models), ``models/`` (research) and the
  tune study (``study.db``); reused models are counted in the summary line instead.

What a run wrote is read from the folder itself (files that are new or replaced since the run
began: every report is written atomically, so a rewritten file is a new file), so the ``wrote``
line can never omit a file that was written.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import seqfolio.cli.messages as messages
from seqfolio.events import counted

__all__ = ["REPORT_FILES", "RunFolder"]

_WALKFORWARD = (
    "summary.md", "summary.csv", "per_window.md", "per_window.csv", "returns.csv", "equity.png",
    "window_sharpe.png", "weights.png", "overfitting.md", "overfitting.csv", "events.csv",
)  # fmt: skip

REPORT_FILES: dict[str, tuple[str, ...]] = {
    "backtest": ("tearsheet.html", "weights.png", "weights.csv", "returns.csv", "rebalances.csv",
                 "orders.csv", "events.csv"),
    "compare": ("comparison.md", "comparison.csv", "returns.csv", "orders.csv", "events.csv",
                "tearsheet_*.html"),
    "walkforward": _WALKFORWARD,
    "tune": ("best.toml", "trials.md", "trials.csv", "search_best.md", "search_best.csv",
             "overfitting.md", "overfitting.csv", "history.png",
             *(f"holdout/{name}" for name in _WALKFORWARD)),
}  # fmt: skip
"""Each command's report files (glob patterns, relative to its folder), in the order they are listed."""

_KEPT: dict[str, tuple[str, ...]] = {"tune": ("study.db",)}
"""A command's files that are its own but never removed (a study to resume)."""

_SUBFOLDERS: dict[str, tuple[str, ...]] = {"tune": ("holdout",)}
"""Folders inside the output folder that hold a command's own report files."""


def _stat_key(path: Path) -> tuple[int, int, int, int]:
    st = path.stat()
    return (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)


def _snapshot(folder: Path, subfolders: Sequence[str]) -> dict[str, tuple[int, int, int, int]]:
    """The visible files of ``folder`` (and of its ``subfolders``), by relative name."""
    found: dict[str, tuple[int, int, int, int]] = {}
    for prefix in ("", *(f"{s}/" for s in subfolders)):
        directory = folder / prefix if prefix else folder
        if not directory.is_dir():
            continue
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.name.startswith(".") or not entry.is_file():
                    continue  # hidden: an interrupted atomic write's temporary file
                found[prefix + entry.name] = _stat_key(Path(entry.path))
    return found


def _rank(name: str, patterns: Sequence[str]) -> int | None:
    """Index of the first pattern ``name`` matches, or None."""
    return next((i for i, p in enumerate(patterns) if fnmatch.fnmatchcase(name, p)), None)


@dataclass
class RunFolder:
    """The output folder of one run of ``command``: created now, inspected by :meth:`finish`.

    Parameters
    ----------
    path : path
        The ``--out`` folder (created if missing).
    command : str
        ``backtest``, ``compare``, ``walkforward`` or ``tune`` (a key of :data:`REPORT_FILES`).

    Attributes
    ----------
    written : list of str
        After :meth:`finish`: the files this run wrote, in :data:`REPORT_FILES` order.
    removed : list of str
        After :meth:`finish`: this command's report files an earlier run left and this one did not
        write (removed).
    foreign : list of str
        After :meth:`finish`: the other files in the folder (left alone).
    """

    path: Path
    command: str
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._patterns = REPORT_FILES[self.command]
        self._kept = _KEPT.get(self.command, ())
        self._subfolders = _SUBFOLDERS.get(self.command, ())
        self._before = _snapshot(self.path, self._subfolders)

    def finish(self) -> RunFolder:
        """Sort the folder's files into written / removed / foreign, remove the stale own ones and
        say so in notes (:meth:`notes`; none with ``--quiet``)."""
        after = _snapshot(self.path, self._subfolders)
        own = (*self._patterns, *self._kept)
        order = len(own)
        written = [n for n, key in after.items() if self._before.get(n) != key]
        ranks = {n: _rank(n, own) for n in written}
        self.written = sorted(written, key=lambda n: (order if ranks[n] is None else ranks[n], n))
        rest = sorted(n for n in after if n not in set(written))
        self.removed = [n for n in rest if _rank(n, self._patterns) is not None]
        for name in self.removed:
            (self.path / name).unlink(missing_ok=True)
        self.foreign = [n for n in rest if _rank(n, own) is None]
        for line in self.notes():
            messages.note(line)
        return self

    def wrote(self) -> str:
        """The summary's ``"wrote OUT/first, second, holdout/ (9 files)"``: the first file with its
        folder, the files of a subfolder counted as one entry."""
        if not self.written:
            return "wrote nothing"
        shown: list[str] = []
        inside: dict[str, int] = {}
        for name in self.written:
            if "/" in name:
                folder = name.split("/", 1)[0]
                if folder not in inside:
                    shown.append(folder)
                inside[folder] = inside.get(folder, 0) + 1
            else:
                shown.append(name)
        parts = [f"{s}/ ({inside[s]} files)" if s in inside else s for s in shown]
        return "wrote " + ", ".join([str(self.path / parts[0]), *parts[1:]])

    def notes(self) -> list[str]:
        """One line each about removed and foreign files (nothing if the folder held no other)."""
        lines = []
        if self.removed:
            lines.append(
                f"removed {counted(len(self.removed), 'file')} an earlier {self.command} left in "
                f"{self.path} that this run did not write: {', '.join(self.removed)}"
            )
        if self.foreign:
            lines.append(
                f"{self.path} also holds {counted(len(self.foreign), 'file')} this {self.command} "
                f"did not write, left as they are: {_listed(self.foreign)}; give each command its "
                "own --out to keep runs apart"
            )
        return lines


def _listed(names: Sequence[str], most: int = 10) -> str:
    """``"a, b, c"``, or the first ``most`` names and how many more."""
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more
