"""A portfolio configuration: what a walk-forward study evaluates and a tuning run searches over.

It maps one-to-one onto ``seqfolio backtest`` options, so a tuned configuration written with
:meth:`PortfolioConfig.to_toml` is a valid ``--config`` file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from seqfolio import defaults
from seqfolio._validation import check_choice, check_int, check_real
from seqfolio.calendar import SCHEDULES
from seqfolio.pipeline.models import LSTM_ALLOCATOR, make_model

_OWNER = "PortfolioConfig"


@dataclass(frozen=True)
class PortfolioConfig:
    """An allocator with its parameters, and how the strategy runs it.

    Attributes
    ----------
    allocator : str
        Short name from :data:`seqfolio.allocators.ALLOCATORS` (``hrp``, ``herc``, ``mvo``, ``ew``,
        ``ivp``, ``ivol``).
    params : dict
        Keyword parameters of the allocator, e.g. ``{"linkage": "average"}``.
    lookback : int
        Daily returns the allocator sees at each rebalance.
    rebalance : str
        ``daily``, ``weekly``, ``monthly`` or ``quarterly``.
    max_weight : float or None
        Cap applied after the allocator.
    cash_buffer : float
        Fraction kept in cash at each rebalance.
    commission : float
        Proportional cost of traded value.
    signal : str or None
        A walk-forward LSTM forecast feeding the allocator: ``lstm-vol``, ``lstm-return``,
        ``lstm-regime``, ``lstm-drawdown`` or ``lstm-corr`` (:data:`seqfolio.pipeline.models.SIGNALS`).
        ``allocator="lstm-weights"`` is the direct-weights network instead.
    model : dict
        The network's settings (``window``, ``horizon``, ``hidden_size``, ``num_layers``,
        ``dropout``, ``learning_rate``, ``max_epochs``, ``patience``, ``sample_stride``, ``ffd``,
        ``seed``, ...; :func:`seqfolio.pipeline.models.make_model`); only with a model.
    retrain : str
        When the model is retrained inside a test part (``daily`` ... ``quarterly``), as in the
        engine; unused without a model.
    """

    allocator: str = "hrp"
    params: dict[str, Any] = field(default_factory=dict)
    lookback: int = defaults.LOOKBACK
    rebalance: str = defaults.REBALANCE
    max_weight: float | None = None
    cash_buffer: float = defaults.CASH_BUFFER
    commission: float = defaults.COMMISSION
    signal: str | None = None
    model: dict[str, Any] = field(default_factory=dict)
    retrain: str = defaults.RETRAIN

    def __post_init__(self) -> None:
        from seqfolio.allocators import allocator_names

        check_choice(_OWNER, "allocator", self.allocator, [*allocator_names(), LSTM_ALLOCATOR])
        check_choice(_OWNER, "rebalance", self.rebalance, SCHEDULES)
        check_choice(_OWNER, "retrain", self.retrain, SCHEDULES)
        if self.allocator == LSTM_ALLOCATOR and self.params:
            raise ValueError(
                f"{_OWNER}: {LSTM_ALLOCATOR!r} takes its settings in 'model', not 'params' "
                f"(got params {sorted(self.params)})."
            )
        # plain Python values (a NumPy int from a search space becomes an int)
        object.__setattr__(self, "lookback", check_int(_OWNER, "lookback", self.lookback, low=2))
        max_weight = check_real(
            _OWNER, "max_weight", self.max_weight, low=0.0, high=1.0, low_open=True,
            allow_none=True,
        )  # fmt: skip
        object.__setattr__(self, "max_weight", max_weight)
        buffer = check_real(
            _OWNER, "cash_buffer", self.cash_buffer, low=0.0, high=0.5, high_open=True
        )
        object.__setattr__(self, "cash_buffer", buffer)
        cost = check_real(_OWNER, "commission", self.commission, low=0.0, high=0.1, high_open=True)
        object.__setattr__(self, "commission", cost)
        self.make_allocator()  # unknown or bad allocator params fail here
        self.make_model()  # unknown or bad model settings fail here

    def make_allocator(self) -> Any:
        """A fresh allocator instance (equal weight for ``lstm-weights``: never called there, the
        network decides)."""
        from seqfolio.allocators import make_allocator

        if self.allocator == LSTM_ALLOCATOR:
            return make_allocator("ew", owner=_OWNER)
        return make_allocator(self.allocator, self.params, owner=_OWNER)

    def make_model(self, n_threads: int = 1) -> Any:
        """The untrained walk-forward model, or None without one
        (:func:`seqfolio.pipeline.models.make_model`)."""
        return make_model(
            self.signal, self.allocator, self.model, n_threads=n_threads, owner=_OWNER
        )

    @property
    def uses_model(self) -> bool:
        """Whether decisions need a walk-forward model."""
        return self.signal is not None or self.allocator == LSTM_ALLOCATOR

    @property
    def label(self) -> str:
        """A short human-readable name, e.g. ``hrp(linkage=average) lb252 monthly`` or
        ``lstm-vol>hrp() lb252 monthly retrain=quarterly [hidden_size=4,seed=1]``."""
        params = ",".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        cap = f" cap{self.max_weight:g}" if self.max_weight is not None else ""
        text = f"{self.allocator}({params}) lb{self.lookback} {self.rebalance}{cap}"
        if not self.uses_model:
            return text
        settings = ",".join(f"{k}={v}" for k, v in sorted(self.model.items()))
        signal = f"{self.signal}>" if self.signal else ""
        return f"{signal}{text} retrain={self.retrain} [{settings}]"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_toml(self, train_window: int | str | None = None) -> str:
        """The configuration as a ``seqfolio backtest --config`` TOML document.

        With a model, ``signal``, ``retrain``, ``train_window`` (give the study's: its ``train``
        bars, or ``"expanding"``) and a ``[model]`` table are written too.
        """
        lines = [
            "# written by seqfolio tune",
            f'allocator = "{self.allocator}"',
            f'rebalance = "{self.rebalance}"',
            f"lookback = {self.lookback}",
            f"commission = {self.commission!r}",
            f"cash_buffer = {self.cash_buffer!r}",
        ]
        if self.max_weight is not None:
            lines.append(f"max_weight = {self.max_weight!r}")
        if self.uses_model:
            if self.signal is not None:
                lines.append(f'signal = "{self.signal}"')
            lines.append(f'retrain = "{self.retrain}"')
            if train_window is not None:
                lines.append(f"train_window = {_literal(train_window)}")
        for table, values in (("allocator_params", self.params), ("model", self.model)):
            if values:
                lines += ["", f"[{table}]"]
                lines += [f"{key} = {_literal(value)}" for key, value in sorted(values.items())]
        return "\n".join(lines) + "\n"


def _literal(value: Any) -> str:
    """A TOML literal for a str, bool, int or float."""
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value).lower() if isinstance(value, bool) else repr(value)
