"""The CLI's one option table: it drives argparse, the TOML keys of ``--config``, defaults and help.

The decision settings (``--lookback``, ``--rebalance``, ``--signal``, ``[model]``, ...) are not
written here: their rows are made from :data:`seqfolio.spec.SETTINGS`, so a setting added to the spec
is a flag and a TOML key of every command that runs it, with its default and help, and is checked by
the spec's own constraint. The rows below are what only the command line has (data, period, output,
windows, search, workers). To add one, add an :class:`Option` naming the commands that take it and
read ``options["name"]`` in the command.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from seqfolio import defaults
from seqfolio.cli.errors import CLIError

__all__ = ["COMMANDS", "OPTIONS", "Option", "build_parser", "read_config", "resolve_options"]

COMMANDS: dict[str, str] = {
    "backtest": "run one allocator and write a tear sheet",
    "compare": "run several allocators on the same data",
    "walkforward": "walk-forward study of several allocators",
    "tune": "hyperparameter search across walk-forward windows (Optuna)",
}
ENGINE = ("backtest", "compare")
RESEARCH = ("walkforward", "tune")
ALL = ENGINE + RESEARCH


@dataclass(frozen=True)
class Option:
    """One option: its name (the TOML key and ``dest``), type, default(s), help and commands.

    ``default`` is one value, or a mapping ``{command: value}`` when commands differ. ``kind`` is
    ``int``, ``float``, ``bool``, ``str``, ``"paths"`` (one or more files), ``"names"`` (a
    comma-separated list; a TOML array is accepted), ``"table"`` (TOML only) or ``"int|str"``.
    ``setting`` marks a decision setting of :class:`~seqfolio.spec.RebalanceSpec` (its row is made
    by :func:`spec_options`; the spec checks its value).
    """

    name: str
    kind: Any
    default: Any
    help: str
    commands: tuple[str, ...]
    short: str | None = None
    metavar: str | None = None
    toml_only: bool = False
    choices: tuple[str, ...] = field(default=())
    setting: bool = False

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def default_for(self, command: str) -> Any:
        if isinstance(self.default, Mapping):
            return self.default.get(command)
        return self.default


_SCHEDULES = "daily, weekly, monthly, quarterly"

OPTIONS: tuple[Option, ...] = (
    # inputs and period
    Option("data", "paths", None, "price CSV(s): one wide or long file, or one file per ticker; "
           "default: bundled 20 stocks", ALL, metavar="PATH"),
    Option("benchmark", str, None, "benchmark price CSV (first column used); default: bundled "
           "S&P 500 index", ALL, metavar="PATH"),
    Option("start", str, "2005-01-01", "first date of the backtest / study", ALL),
    Option("end", str, "2022-12-31", "last date of the backtest / study", ALL),
    # what runs (the decision settings' rows come from the spec: spec_options())
    Option("allocators", "names", "hrp,herc,mvo,ew,ivp", "comma-separated allocator names",
           ("compare", "walkforward")),
    Option("engine", str, "backtrader", "backtrader, or zipline (needs pip install "
           "\"seqfolio[zipline]\"; docs/zipline.md)", ENGINE, choices=("backtrader", "zipline")),
    Option("cash", float, defaults.CASH, "starting cash", ENGINE),
    Option("threads", int, 1, "CPU threads for LSTM training / prediction (results do not "
           "depend on it)", ENGINE),
    # walk-forward windows of the research commands
    Option("train", int, defaults.TRAIN_BARS, "bars in each training window", RESEARCH),
    Option("test", int, defaults.TEST_BARS, "bars in each test window", RESEARCH),
    Option("purge", int, None, "bars dropped between train and test (default: the longest label "
           "horizon of the models; 0 without a model)", RESEARCH),
    Option("embargo", int, 0, "further bars dropped after the purge", ("walkforward",)),
    Option("expanding", bool, False, "expanding instead of rolling training windows",
           ("walkforward",)),
    Option("seeds", int, None, "seeds per configuration with a model (mean and spread reported)",
           ("walkforward",)),
    Option("cache", str, None, "folder of fitted models shared by configurations, trials and "
           "repeated runs (default OUT/models)", RESEARCH, metavar="DIR"),
    # the search
    Option("trials", int, 40, "finished trials wanted", ("tune",)),
    Option("holdout", float, 0.2, "fraction of the bars at the end kept from the search",
           ("tune",)),
    Option("storage", str, None, "Optuna storage URL (default sqlite:///<out>/study.db; "
           "postgresql://... to share)", ("tune",)),
    Option("study_name", str, None, "study name in the storage (default seqfolio-<space>: "
           "seqfolio-default, seqfolio-lstm, seqfolio-<TOML file name>); an existing study is "
           "resumed if it was run with the same space, data, costs and windows", ("tune",)),
    Option("seed", int, 0, "sampler seed", ("tune",)),
    Option("space", str, None, "search space: a TOML file, or 'lstm' for the built-in LSTM "
           "pipelines space (default: allocator settings only)", ("tune",), metavar="FILE"),
    Option("pruner", str, defaults.PRUNER, "median, wilcoxon or none: how trials are stopped "
           "across windows", ("tune",)),
    Option("prune_after", int, defaults.PRUNE_AFTER, "windows a trial runs before it can be pruned",
           ("tune",)),
    Option("prune_every", int, defaults.PRUNE_EVERY, "then check it every N windows", ("tune",)),
    Option("batch_size", int, defaults.BATCH_SIZE, "trials proposed at once, wherever they run "
           "(the same trials locally and on Dask)", ("tune",)),
    # where it runs and what it prints
    Option("workers", int, 1, "local worker processes", RESEARCH),
    Option("scheduler", str, None, "Dask scheduler address, e.g. tcp://host:8786 (overrides "
           "--workers)", RESEARCH, metavar="ADDRESS"),
    Option("out", str, {"backtest": "seqfolio-report", "compare": "seqfolio-compare",
                        "walkforward": "seqfolio-walkforward", "tune": "seqfolio-tune"},
           "output folder", ALL),
    Option("quiet", bool, False, "print nothing but errors; no progress bar", ALL, short="-q"),
)  # fmt: skip


_SETTING_COMMANDS = {
    "allocator": ("backtest",),  # compare and walkforward take a list: --allocators
    "capital": (),  # a sleeve of a shared account: one command runs one strategy per account
    "commission": ALL,  # tune searches the rest; its costs are the study's
}
"""Which commands take a decision setting where the rule below does not say it: the engine commands
take every setting, ``walkforward`` those the research path simulates."""
_NOT_IN_STUDIES = ("train_window", "fractional")  # a study's windows set the one, it always does the other


def spec_options() -> tuple[Option, ...]:
    """The option rows of the decision settings, made from :data:`seqfolio.spec.SETTINGS`."""
    from seqfolio._validation import Boolean, IntRange, RealRange
    from seqfolio.spec import iter_settings

    rows = []
    for name, setting, default in iter_settings():
        check = setting.check
        study = ("walkforward",) if setting.research and name not in _NOT_IN_STUDIES else ()
        commands = _SETTING_COMMANDS.get(name, ENGINE + study)
        if not commands:
            continue
        kind: Any = (
            "table" if isinstance(default, dict)
            else int if isinstance(check, IntRange)
            else float if isinstance(check, RealRange)
            else bool if isinstance(check, Boolean)
            else "int|str" if name == "train_window"
            else str
        )  # fmt: skip
        text = setting.help
        if kind is str:  # the choices of the moment (a registry's names included)
            text = f"{text}: {check.describe()}"
        rows.append(
            Option(name, kind, default, text, commands, toml_only=kind == "table" or not setting.cli,
                   setting=True)  # fmt: skip
        )
    return tuple(rows)


def options_of(command: str) -> dict[str, Option]:
    """The options ``command`` takes, by name: the command line's own rows and the decision
    settings'."""
    return {o.name: o for o in OPTIONS + spec_options() if command in o.commands}


class _OneLineParser(argparse.ArgumentParser):
    """argparse with usage errors as one line (``seqfolio: error: ...``), still exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"seqfolio: error: {message}{self._closest(message)} (see {self.prog} --help)\n")

    def _closest(self, message: str) -> str:
        """``; did you mean --allocator?`` for a mistyped flag in an "unrecognized arguments" error."""
        if not message.startswith("unrecognized arguments:"):
            return ""
        flags = [f for action in self._actions for f in action.option_strings]
        for sub in self._subparsers._group_actions if self._subparsers else []:
            for child in getattr(sub, "choices", {}).values():
                flags += [f for action in child._actions for f in action.option_strings]
        for word in message.split(":", 1)[1].split():
            close = difflib.get_close_matches(word.split("=")[0], set(flags), n=1)
            if word.startswith("--") and close:
                return f"; did you mean {close[0]}?"
        return ""


def _help(option: Option, command: str) -> str:
    if option.kind is bool or "default" in option.help:
        return option.help
    default = option.default_for(command)
    shown = (
        "none" if default is None else f"{default:,.0f}" if default == defaults.CASH else default
    )
    return f"{option.help} (default {shown})"


def _add(parser: argparse.ArgumentParser, option: Option, command: str) -> None:
    flags = [option.flag] + ([option.short] if option.short else [])
    kwargs: dict[str, Any] = dict(dest=option.name, default=argparse.SUPPRESS,
                                  help=_help(option, command))  # fmt: skip
    if option.kind is bool:  # a decision setting may default to True: --no-... turns it off
        kwargs["action"] = argparse.BooleanOptionalAction if option.setting else "store_true"
    else:
        kwargs["metavar"] = option.metavar
        if option.kind in (int, float):
            kwargs["type"] = option.kind
        if option.kind == "paths":
            kwargs["nargs"] = "+"
        if option.kind == "int|str":  # a number of bars, or a word such as 'expanding'
            kwargs["type"] = lambda text: int(text) if text.strip().isdigit() else text
    parser.add_argument(*flags, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command, built from :data:`OPTIONS`."""
    from seqfolio import __version__

    parser = _OneLineParser(
        prog="seqfolio", description="Backtest and research seqfolio allocators (backtrader, "
        "QuantStats, Optuna, Dask)."
    )  # fmt: skip
    parser.add_argument("--version", action="version", version=f"seqfolio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}")
    sub.required = True
    for command, description in COMMANDS.items():
        child = sub.add_parser(command, help=description, description=description)
        child.add_argument("--config", metavar="FILE",
                           help="TOML file with any of these options as keys (the command line wins)")  # fmt: skip
        for option in options_of(command).values():
            if not option.toml_only:
                _add(child, option, command)
    return parser


def _load_toml(path: str) -> dict[str, Any]:
    import tomllib

    file = Path(path)
    if file.is_dir():
        raise CLIError(f"--config {path} is a folder, not a TOML file; give the path of the file")
    if not file.is_file():
        raise CLIError(f"config file not found: {path}")
    try:
        with file.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise CLIError(f"{path}: invalid TOML ({exc})") from None


def _example(option: Option, command: str) -> str:
    default = option.default_for(command)
    if option.kind is bool:
        return "true"
    if default is not None and isinstance(default, option.kind):
        return str(default)
    return {int: "252", float: "0.25"}[option.kind]


def _config_value(option: Option, value: Any, path: str, command: str) -> Any:
    """A TOML value converted to the option's type, or a one-line error naming key and type (a
    decision setting's value is checked by the spec, which names the key too)."""
    kind, key = option.kind, option.name
    if option.setting and kind != "table":
        return None if value == "none" else value
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind is float and is_int:
        return float(value)
    if kind in (int, float, bool):
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            article = "an" if kind is int else "a"
            raise CLIError(
                f"{path}: '{key}' must be {article} {kind.__name__} (e.g. {key} = "
                f"{_example(option, command)}); got {value!r}"
            )
        return value
    if kind == "table":
        if not isinstance(value, dict):
            raise CLIError(f"{path}: '{key}' must be a table, e.g. [{key}]")
        return value
    if kind == "names" and isinstance(value, list):
        return ",".join(map(str, value))
    if kind == "paths" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    if key in ("start", "end") and not isinstance(value, bool):  # TOML dates
        return str(value)
    if value is not None and not isinstance(value, str):
        raise CLIError(f"{path}: '{key}' must be a string; got {value!r}")
    return value


def read_config(path: str, command: str) -> dict[str, Any]:
    """The options of a TOML ``--config`` file for ``command``, checked against the table."""
    raw = _load_toml(path)
    known = options_of(command)
    config = {str(k).replace("-", "_"): v for k, v in raw.items()}
    unknown = sorted(set(config) - set(known))
    if unknown:
        close = [m for key in unknown for m in difflib.get_close_matches(key, known, n=1)]
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        raise CLIError(
            f"{path}: unknown option(s) {unknown}{hint}; valid keys for seqfolio {command} are "
            f"{sorted(known)}"
        )
    return {k: _config_value(known[k], v, path, command) for k, v in config.items()}


def resolve_options(args: argparse.Namespace) -> dict[str, Any]:
    """Defaults from the table, then the TOML config, then the command line."""
    command = args.command
    options = {name: o.default_for(command) for name, o in options_of(command).items()}
    sources: dict[str, str] = {}
    if getattr(args, "config", None):
        config = read_config(args.config, command)
        options.update(config)
        sources.update(dict.fromkeys(config, str(args.config)))
    given = {k: v for k, v in vars(args).items() if k not in ("config", "command")}
    options.update(given)
    sources.update(dict.fromkeys(given, "flag"))
    options["_sources"] = sources  # where each value came from, for messages
    return options
