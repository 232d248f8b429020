"""RebalanceSpec: every setting that decides a rebalance, defined, defaulted and checked once.

One immutable object carries a strategy's decision settings from wherever they are written -- the
command line, a TOML file, ``RebalanceStrategy`` params, a research configuration, a tuning trial --
to the pipeline that uses them (docs/architecture.md, "One spec"). Each setting is declared once, in
:data:`SETTINGS`: its default (read from :mod:`seqfolio.defaults`), its constraint (checked once,
when the spec is built), its help line (the CLI's) and whether the research path simulates it.

>>> from seqfolio.spec import RebalanceSpec
>>> spec = RebalanceSpec("herc", {"linkage": "average"}, lookback=126)
>>> spec.replace(rebalance="quarterly").label
'HERC(linkage=average) quarterly, lookback 126'
>>> RebalanceSpec.from_toml(spec.to_toml()) == spec
True
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any

from seqfolio import defaults
from seqfolio._validation import (
    Boolean,
    Constraint,
    IntRange,
    InvalidParameter,
    OneOf,
    RealRange,
    check_int,
    check_known,
)
from seqfolio.calendar import SCHEDULES, check_schedule

__all__ = ["DELISTED_POLICIES", "SETTINGS", "check_research_settings", "check_setting", "distinct_labels", "RebalanceSpec", "Setting", "as_spec", "setting_names"]

_OWNER = "RebalanceSpec"
DELISTED_POLICIES: tuple[str, ...] = ("cash", "hold")
"""What happens to a position in a feed that has ended: sold at its last close, or kept."""


# -- constraints that only settings need ------------------------------------------------------
@dataclass(frozen=True)
class _Schedule(Constraint):
    """A schedule name (:data:`seqfolio.calendar.SCHEDULES`) or a callable date -> bool."""

    def check(self, owner: str, name: str, value: object) -> Any:
        if isinstance(value, str) and value.strip().lower() in SCHEDULES:
            value = value.strip().lower()
        return check_schedule(owner, name, value)

    def describe(self) -> str:
        return ", ".join(SCHEDULES)


@dataclass(frozen=True)
class _TrainWindow(Constraint):
    """Bars of closes per retrain (an int >= 2) or ``"expanding"`` (every bar so far)."""

    def check(self, owner: str, name: str, value: object) -> int | str:
        if isinstance(value, str) and value.strip().lower() == "expanding":
            return "expanding"
        try:
            return check_int(owner, name, value, low=2)  # type: ignore[return-value]
        except InvalidParameter:
            raise InvalidParameter(owner, name, value, "an int >= 2 (bars) or 'expanding'") from None

    def describe(self) -> str:
        return "bars (int >= 2) or 'expanding'"


@dataclass(frozen=True)
class _Named(Constraint):
    """A registered name (allocators, signals), or an estimator instance passed as it is."""

    kind: str
    none: bool = False

    def names(self) -> list[str]:
        """The registered names, read at each use (names registered later count)."""
        if self.kind == "allocator":
            from seqfolio.allocators import allocator_names

            return allocator_names()
        from seqfolio.pipeline.models import signal_names

        return signal_names()

    def check(self, owner: str, name: str, value: object) -> Any:
        if value is None:
            if self.kind == "allocator":
                return defaults.ALLOCATOR  # RebalanceStrategy(allocator=None) has always meant HRP
            if self.none:
                return None
        if isinstance(value, str):
            return OneOf(self.names, none=self.none).check(owner, name, value)
        if self.kind == "allocator":
            return value  # an instance: make_allocator checks it (a class, a non-estimator)
        from seqfolio.allocators.registry import needs_training

        if isinstance(value, type) or not (hasattr(value, "fit") and hasattr(value, "predict")):
            raise InvalidParameter(
                owner, name, value, "a signal name or a forecaster instance such as "
                "LSTMForecaster(target='volatility')",
            )  # fmt: skip
        if needs_training(value):
            raise InvalidParameter(
                owner, name, value, f"a forecaster, not a {type(value).__name__}, which outputs "
                "weights: pass it as allocator= instead",
            )  # fmt: skip
        return value

    def describe(self) -> str:
        return ", ".join(self.names()) + (" or none" if self.none else "")


@dataclass(frozen=True)
class _Table(Constraint):
    """A table of keyword settings (string keys); checked against its estimator by the spec."""

    def check(self, owner: str, name: str, value: object) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise InvalidParameter(owner, name, value, "a table of settings (name = value)")
        return dict(value)

    def describe(self) -> str:
        return "a table"


# -- the table of settings --------------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    """How one setting is checked and described: its constraint, help line and reach.

    ``research`` says whether the research path's evaluator simulates the setting (a study refuses
    a non-default value of one it does not); ``cli`` whether the command line has a flag for it
    (tables such as ``[model]`` come from a TOML file only).
    """

    check: Constraint
    help: str
    research: bool = True
    cli: bool = True


def _setting(default: Any, check: Constraint, help: str, **kwargs: Any) -> Any:
    """A dataclass field whose default and :class:`Setting` are declared together, once."""
    meta = {"setting": Setting(check, help, **kwargs)}
    if isinstance(default, dict):
        return field(default_factory=dict, metadata=meta)
    return field(default=default, metadata=meta)


class _ReadOnly(dict):
    """A dict that refuses changes, so a spec's tables cannot be edited after it was checked."""

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a RebalanceSpec is immutable; build another with spec.replace(...)")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (_ReadOnly, (dict(self),))


@dataclass(frozen=True)
class RebalanceSpec:
    """Every setting that decides a rebalance (see the module notes).

    Each is documented by its help line in :data:`SETTINGS` (``seqfolio backtest --help`` prints the
    same lines); the first ten, in this order, are those of the former ``PortfolioConfig``.

    Raises
    ------
    ValueError
        :class:`~seqfolio._validation.InvalidParameter` for a value outside its constraint, naming the
        setting (``The 'lookback' parameter of RebalanceSpec must be an int >= 2. Got 1 instead.``);
        also unknown allocator parameters or model settings, and combinations that cannot work
        (a signal feeding a trained allocator, model settings without a model).
    TypeError
        For a class where an instance is expected.
    """

    allocator: Any = _setting(
        "hrp", _Named("allocator"), "the allocator: a registered name (the allocator registry's) or, in "
        "Python, an instance"
    )  # fmt: skip
    allocator_params: Mapping[str, Any] = _setting(
        {}, _Table(), "keyword parameters of the allocator ([allocator_params] table)", cli=False
    )
    lookback: int = _setting(
        defaults.LOOKBACK, IntRange(low=defaults.MIN_LOOKBACK), "bars of returns per allocation"
    )
    rebalance: Any = _setting(defaults.REBALANCE, _Schedule(), "when to rebalance")
    max_weight: float | None = _setting(
        None, RealRange(0.0, 1.0, low_open=True, none=True), "cap on any asset's weight"
    )
    cash_buffer: float = _setting(
        defaults.CASH_BUFFER, RealRange(0.0, 0.5, high_open=True), "fraction kept in cash"
    )
    commission: float = _setting(
        defaults.COMMISSION, RealRange(0.0, 0.1, high_open=True),
        "commission as a fraction of traded value (0.001 = 10 bps)",
    )  # fmt: skip
    signal: Any = _setting(
        None, _Named("signal", none=True), "walk-forward LSTM forecast feeding the allocator "
        "(lstm-vol, lstm-return, lstm-regime, lstm-drawdown, lstm-corr)"
    )  # fmt: skip
    model: Mapping[str, Any] = _setting(
        {}, _Table(), "settings of the network the configuration trains ([model] table: window, "
        "hidden_size, max_epochs, random_state, ...)", cli=False
    )  # fmt: skip
    retrain: Any = _setting(defaults.RETRAIN, _Schedule(), "when the walk-forward model is retrained")
    train_window: int | str = _setting(
        defaults.TRAIN_BARS, _TrainWindow(), "bars of history per retrain, or 'expanding'"
    )
    warm_start: bool = _setting(False, Boolean(), "continue each retrain from the previous model")
    min_trade: float = _setting(
        defaults.MIN_TRADE, RealRange(0.0, 1.0, high_open=True),
        "skip trades changing a weight by less than this", research=False,
    )  # fmt: skip
    fractional: bool = _setting(
        False, Boolean(), "trade fractional shares (the research path always does)"
    )
    retry_rejected: bool = _setting(
        True, Boolean(), "resubmit a buy the broker rejected for cash once, shrunk", research=False
    )
    capital: float | None = _setting(
        None, RealRange(0.0, 1.0, low_open=True, none=True),
        "share of the broker's value this strategy manages", research=False, cli=False,
    )  # fmt: skip
    delisted: str = _setting(
        defaults.DELISTED, OneOf(DELISTED_POLICIES),
        "a position whose feed ended: sold at its last close (cash) or kept (hold)", research=False,
    )  # fmt: skip
    max_gap: int = _setting(
        defaults.MAX_GAP, IntRange(low=0), "gaps of at most this many bars in a window are bridged"
    )
    exposure_floor: float = _setting(
        defaults.EXPOSURE_FLOOR, RealRange(0.0, 1.0), "lowest gross exposure a regime / drawdown "
        "signal can set", cli=False
    )  # fmt: skip
    exposure_threshold: float = _setting(
        defaults.EXPOSURE_THRESHOLD, RealRange(0.0, 1.0, high_open=True),
        "stress probability above which a regime / drawdown signal cuts exposure", cli=False,
    )  # fmt: skip
    params: InitVar[Mapping[str, Any] | None] = None  # the former name of allocator_params

    def __post_init__(self, params: Mapping[str, Any] | None = None) -> None:
        if params is not None:
            warnings.warn(
                "PortfolioConfig(params=...) is now RebalanceSpec(allocator_params=...); 'params' "
                "will be removed in seqfolio 0.3.",
                DeprecationWarning,
                stacklevel=3,
            )
            object.__setattr__(self, "allocator_params", params)
        self._check(_OWNER)

    def _check(self, owner: str) -> None:
        """Check every setting against its constraint (plain Python values are stored), then the
        allocator's parameters and the model's settings against the estimators themselves."""
        for name, setting in SETTINGS.items():
            value = setting.check.check(owner, name, getattr(self, name))
            if isinstance(value, dict):
                value = _ReadOnly(value)
            object.__setattr__(self, name, value)
        from seqfolio.pipeline.models import canonical_settings

        object.__setattr__(self, "model", _ReadOnly(canonical_settings(self.model, owner)))
        if self.allocator_params and not isinstance(self.allocator, str):
            raise ValueError(
                f"{owner}: allocator_params are for an allocator given by name, not an instance "
                f"({type(self.allocator).__name__}); set its parameters on the instance."
            )
        self.make_allocator(owner)  # unknown or bad allocator parameters fail here
        self.make_model(owner=owner)  # unknown or bad model settings fail here

    # -- building from and writing to other forms ----------------------------------------------
    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any], *, base: RebalanceSpec | None = None, owner: str = _OWNER
    ) -> RebalanceSpec:
        """A spec from a mapping of setting names (unknown names are an error with the closest
        valid one); unset ones keep ``base``'s values (default: the defaults)."""
        check_known(owner, "setting(s)", settings, list(SETTINGS))
        values = {**(base.settings() if base is not None else {}), **settings}
        spec = cls.__new__(cls)  # as __init__ would, but with the caller's name in messages
        for name in SETTINGS:
            object.__setattr__(spec, name, values.get(name, setting_default(name)))
        spec._check(owner)
        return spec

    def settings(self) -> dict[str, Any]:
        """The settings as a plain mapping (tables copied), the inverse of :meth:`from_settings`."""
        return {name: _plain(getattr(self, name)) for name in SETTINGS}

    def replace(self, **changes: Any) -> RebalanceSpec:
        """A copy with some settings changed (checked again)."""
        return type(self).from_settings(changes, base=self)

    def changed(self) -> dict[str, Any]:
        """The settings that differ from their defaults."""
        base = _defaults()
        return {k: v for k, v in self.settings().items() if v != getattr(base, k)}

    @classmethod
    def from_toml(cls, source: str | Path) -> RebalanceSpec:
        """A spec from TOML text or a ``.toml`` file with setting names as keys (as
        ``seqfolio backtest --config`` reads, and :meth:`to_toml` writes)."""
        import tomllib

        path = Path(source) if isinstance(source, Path) or str(source).endswith(".toml") else None
        text = path.read_text(encoding="utf-8") if path is not None else str(source)
        return cls.from_settings(tomllib.loads(text), owner=str(path or _OWNER))

    def to_toml(self) -> str:
        """The spec as a TOML document: the main settings always, the others when not at their
        default, then ``[allocator_params]`` and ``[model]``. ``from_toml`` reads it back equal.

        Raises
        ------
        ValueError
            For what TOML cannot hold: a callable schedule or an estimator instance.
        """
        values = self.settings()
        for name in ("allocator", "signal", "rebalance", "retrain"):
            value = values[name]
            if value is not None and not isinstance(value, str):
                raise ValueError(
                    f"RebalanceSpec.to_toml: {name}={value!r} cannot be written to TOML; use a "
                    "registered name (or a named schedule)."
                )
        always = ("allocator", "rebalance", "lookback", "commission", "cash_buffer")
        changed = self.changed()
        lines = []
        for name, value in values.items():
            if isinstance(value, dict) or value is None:
                continue
            if name in always or name in changed:
                lines.append(f"{name} = {_literal(value)}")
        for table in ("allocator_params", "model"):
            if values[table]:
                lines += ["", f"[{table}]"]
                lines += [f"{k} = {_literal(v)}" for k, v in sorted(values[table].items())]
        return "\n".join(lines) + "\n"

    # -- what the settings make ------------------------------------------------------------------
    @property
    def trains_allocator(self) -> bool:
        """Whether the allocator itself is a network trained walk-forward (``needs_training``)."""
        from seqfolio.allocators import needs_training

        return needs_training(self.allocator)

    @property
    def uses_model(self) -> bool:
        """Whether decisions need a walk-forward model (a signal, or a trained allocator)."""
        return self.signal is not None or self.trains_allocator

    def make_allocator(self, owner: str = _OWNER, n_threads: int = 1) -> Any:
        """A fresh allocator instance (for a trained allocator: the untrained network, with the
        ``model`` settings)."""
        from seqfolio.allocators import make_allocator

        if self.trains_allocator:
            return self.make_model(n_threads=n_threads, owner=owner)
        return make_allocator(self.allocator, self.allocator_params, owner=owner)

    def make_model(self, n_threads: int = 1, owner: str = _OWNER) -> Any:
        """The untrained walk-forward model (the signal's forecaster, or the trained allocator), or
        None without one (:func:`seqfolio.pipeline.models.make_model`)."""
        from seqfolio.pipeline.models import make_model

        return make_model(self.signal, self.allocator, self.model, n_threads=n_threads, owner=owner)

    def horizon(self) -> int:
        """Bars the model's training labels look ahead (0 without a model)."""
        from seqfolio.pipeline.models import model_horizon

        return model_horizon(self.make_model())

    def history_bars(self) -> int:
        """Rows of history a run needs before its first decision: the lookback, or the training
        window of a walk-forward model when longer."""
        if not self.uses_model or self.train_window == "expanding":
            return self.lookback
        return max(self.lookback, int(self.train_window))

    @property
    def label(self) -> str:
        """A readable name: the allocator (its parameters), the signal feeding it and the schedule,
        e.g. ``HRP monthly`` or ``LSTM-vol → HERC(linkage=average) quarterly``. Specs that differ
        only in other settings share it: :func:`distinct_labels` names a collection of them."""
        from seqfolio.allocators import allocator_label

        name = allocator_label(self.allocator)
        params = ", ".join(f"{k}={_short(v)}" for k, v in sorted(self.allocator_params.items()))
        text = f"{name}({params})" if params else name
        if self.signal is not None:
            text = f"{_signal_label(self.signal)} → {text}"
        return f"{text} {self.rebalance if isinstance(self.rebalance, str) else 'custom schedule'}"

    @property
    def description(self) -> str:
        """The label and every other setting that differs from its default, e.g. ``HRP(linkage=
        complete) quarterly, lookback 336, max weight 0.2``: one spec shown on its own."""
        base = _flat(_defaults())
        shown = {"allocator", "rebalance", "signal"} | {f"allocator_params.{k}" for k in
                                                       self.allocator_params}  # fmt: skip
        extra = [
            f"{k.replace('_', ' ')} {_short(v)}"
            for k, v in _flat(self).items()
            if k not in shown and v != base.get(k)
        ]
        return ", ".join([self.label, *extra])


def _flat(spec: RebalanceSpec) -> dict[str, Any]:
    """The settings with the tables' keys spread out (``model.hidden_size``)."""
    flat: dict[str, Any] = {}
    for name, value in spec.settings().items():
        if isinstance(value, dict):
            flat.update({k if name == "model" else f"{name}.{k}": v for k, v in value.items()})
        else:
            flat[name] = value
    return flat


def distinct_labels(specs: Any) -> list[str]:
    """Each spec's :attr:`~RebalanceSpec.label`, with the settings that tell apart specs sharing one
    added: ``HRP monthly, lookback 126`` beside ``HRP monthly, lookback 252``;
    ``LSTM-vol → HRP monthly, random_state 1``. Equal specs keep equal labels."""
    specs = list(specs)
    labels = [spec.label for spec in specs]
    for label in set(labels):
        group = [i for i, other in enumerate(labels) if other == label]
        if len(group) < 2:
            continue
        flats = [_flat(specs[i]) for i in group]
        keys = list(dict.fromkeys(k for f in flats for k in f))  # field order
        differ = [k for k in keys if len({repr(f.get(k)) for f in flats}) > 1]
        for i, flat in zip(group, flats, strict=True):
            extra = ", ".join(f"{k.replace('_', ' ')} {_short(flat.get(k))}" for k in differ)
            labels[i] = f"{label}, {extra}" if extra else label
    return labels


_FIELDS: dict[str, dataclasses.Field[Any]] = {f.name: f for f in dataclasses.fields(RebalanceSpec)}
SETTINGS: dict[str, Setting] = {name: f.metadata["setting"] for name, f in _FIELDS.items()}
"""The one constraint table: every setting's check, help line and reach, by name, in field order."""



def check_setting(owner: str, name: str, value: Any) -> Any:
    """One setting checked by its constraint (for the APIs that take it on its own, e.g.
    ``Retrainer(train_window=...)``); returns the plain value."""
    return SETTINGS[name].check.check(owner, name, value)


def check_research_settings(specs: Any, owner: str) -> None:
    """Refuse specs that change a setting the research path does not simulate (``min_trade``,
    ``fractional``, ...: its evaluator trades fractional shares and every weight change), rather
    than report a study of something else.

    Raises
    ------
    ValueError
        Naming the configuration and the settings.
    """
    for spec in specs:
        engine_only = sorted(k for k in spec.changed() if not SETTINGS[k].research)
        if engine_only:
            raise ValueError(
                f"{owner}: {spec.label} sets {engine_only}, which the research path does not "
                "simulate (it trades fractional shares, every weight change, on one account); "
                "leave them at their defaults in a study, or backtest the configuration instead."
            )


def setting_names(*, research: bool | None = None, cli: bool | None = None) -> list[str]:
    """Names of the settings, optionally only those the research path simulates or the CLI flags."""
    return [
        name
        for name, s in SETTINGS.items()
        if (research is None or s.research == research) and (cli is None or s.cli == cli)
    ]


def setting_default(name: str) -> Any:
    """A setting's default (from :mod:`seqfolio.defaults` through the field)."""
    f = _FIELDS[name]
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default  # type: ignore[misc]


@functools.cache
def _defaults() -> RebalanceSpec:
    return RebalanceSpec()


def as_spec(
    spec: RebalanceSpec | None, settings: Mapping[str, Any], owner: str
) -> RebalanceSpec:
    """The spec of a call that takes ``spec=`` or keyword settings (not both).

    Raises
    ------
    ValueError
        For both at once (naming the settings given), or an unknown / bad setting.
    """
    if spec is None:
        return RebalanceSpec.from_settings(settings, owner=owner)
    if not isinstance(spec, RebalanceSpec):
        raise TypeError(
            f"The 'spec' parameter of {owner} must be a RebalanceSpec. Got "
            f"{type(spec).__name__} instead."
        )
    if settings:
        raise ValueError(
            f"{owner}: give either spec= or settings {sorted(settings)}, not both; use "
            f"spec.replace({', '.join(f'{k}=...' for k in sorted(settings))})."
        )
    return spec


def _signal_label(signal: Any) -> str:
    """``LSTM-vol`` for the signal ``lstm-vol`` and for a forecaster of its target; else the
    forecaster's class name."""
    from seqfolio.pipeline.models import SIGNALS

    if not isinstance(signal, str):
        target = getattr(signal, "target", None)
        named = [name for name, t in SIGNALS.items() if t == target]
        signal = named[0] if named else type(signal).__name__
    return signal.replace("lstm", "LSTM", 1)


def _plain(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else value


def _short(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _literal(value: Any) -> str:
    """A TOML literal for a str, bool, int or float."""
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value).lower() if isinstance(value, bool) else repr(value)


def iter_settings() -> Iterator[tuple[str, Setting, Any]]:
    """``(name, setting, default)`` in field order (the CLI builds its option rows from this)."""
    for name, setting in SETTINGS.items():
        yield name, setting, setting_default(name)
