"""The ``seqfolio`` command: ``backtest``, ``compare``, ``walkforward`` and ``tune``.

``seqfolio backtest`` runs an HRP monthly rebalance on the bundled 20 stocks, 2005-2022, with 10 bps
commission against the bundled S&P 500 index, prints a metrics table and writes ``tearsheet.html``,
``weights.png``, ``weights.csv``, ``returns.csv``, ``rebalances.csv`` and ``orders.csv`` into ``--out``.
``seqfolio compare --allocators hrp,herc,mvo,ew,ivp`` runs several allocators on the same data and
writes ``comparison.md`` / ``comparison.csv``, ``returns.csv`` and one tear sheet per allocator.
Both also write ``events.csv`` (skipped rebalances, allocator failures and fallbacks, failed retrains)
when there was any, and say so in the summary line.

``seqfolio walkforward`` and ``seqfolio tune`` are the research commands (:mod:`seqfolio.cli.research`).
Every option of every command can also come from a TOML file (``--config run.toml``) with the same
names as keys (``allocator = "herc"``, ``start = "2010-01-01"``, ``cash_buffer = 0.02``); options given
on the command line win. One table defines every option: the decision settings' rows come from
:data:`seqfolio.spec.SETTINGS`, the command line's own from :data:`seqfolio.cli.options.OPTIONS`.

Modules: ``options`` (the table, argparse, TOML), ``inputs`` (data and benchmark), ``specs`` (a
command's :class:`~seqfolio.spec.RebalanceSpec` s, with errors worded for it), ``engine`` (``backtest``, ``compare``),
``research`` (``walkforward``, ``tune``), ``outputs`` (the output folder rule), ``messages``
(notes and warnings); ``main`` here ties them together.

Errors and exit status
----------------------
Every error prints exactly one line on stderr, ``seqfolio: error: ...``, and no traceback
(``SEQFOLIO_DEBUG=1`` re-raises instead); warnings print ``seqfolio: warning: ...`` lines and notes
``seqfolio: note: ...`` lines, above any progress bar (:mod:`seqfolio.cli.messages`).

- exit 0: the run completed (warnings, e.g. a tear sheet QuantStats could not draw, do not change it);
- exit 1: a bad option, config or data file (checked before any work; ``backtest`` and ``compare``
  check option values first, then the data, so no data warning comes before an option error), or a
  run that never traded;
- exit 2: a usage error found by the argument parser (unknown option or sub-command, ``--lookback
  abc``): ``seqfolio: error: argument --lookback: invalid int value: 'abc' (see seqfolio backtest
  --help)``, one line, no usage block (argparse's conventional status 2);
- exit 130: interrupted (Ctrl-C).

A run that never traded (every rebalance skipped, e.g. every optimisation infeasible) still writes
``returns.csv`` (all 0), ``weights.csv``, ``rebalances.csv`` and ``orders.csv`` (headers only) and
``events.csv`` with the skip reasons, and prints its summary line; there is no tear sheet or weights chart (a warning says
so), and the command ends with status 1 and ``seqfolio: error: HRP monthly never traded: all N
scheduled rebalances were skipped (first: <date> <reason>); see <out>/events.csv``.
``seqfolio compare`` reports such an allocator the same way, leaves it out of the comparison, writes the
comparison of the others, and ends with status 1 and ``seqfolio: error: 1 of 3 allocators never
traded and are left out of the comparison: ...``. A tear sheet that cannot be written for any other
reason (a QuantStats failure) gives a ``seqfolio: warning: TearSheet: no tear sheet written ...`` line,
every other file is still written and the status stays 0. Output folders follow one rule
(:mod:`seqfolio.cli.outputs`): a report file of the command's own that this run did not write (a tear
sheet, a weights chart, a comparison, an earlier ``compare``'s tear sheet of another allocator) is
removed, so a stale report is never taken for this run's, and any other file found in ``--out`` is
named in a note and left alone.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import seqfolio.cli.messages as messages
from seqfolio.cli.errors import CLIError
from seqfolio.cli.options import build_parser, resolve_options

__all__ = ["CLIError", "build_parser", "main"]


def _run(command: str, options: dict[str, Any]) -> int:
    if command in ("backtest", "compare"):
        from seqfolio.cli.engine import run_engine_command

        return run_engine_command(options, command)
    from seqfolio.cli.research import cmd_tune, cmd_walkforward

    return cmd_walkforward(options) if command == "walkforward" else cmd_tune(options)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``seqfolio`` console script; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help / --version (0) or a usage error (2, printed as one line)
        return exc.code if isinstance(exc.code, int) else 2
    debug = os.environ.get("SEQFOLIO_DEBUG") == "1"
    try:
        options = resolve_options(args)
        with messages.installed(quiet=bool(options["quiet"])):
            return _run(args.command, options)
    except KeyboardInterrupt:
        print("seqfolio: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one clear line, not a traceback (SEQFOLIO_DEBUG=1 re-raises)
        if debug:
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"seqfolio: error: {message}", file=sys.stderr)
        return 1
