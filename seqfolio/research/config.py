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
    """

    allocator: str = "hrp"
    params: dict[str, Any] = field(default_factory=dict)
    lookback: int = defaults.LOOKBACK
    rebalance: str = defaults.REBALANCE
    max_weight: float | None = None
    cash_buffer: float = defaults.CASH_BUFFER
    commission: float = defaults.COMMISSION

    def __post_init__(self) -> None:
        from seqfolio.allocators import allocator_names

        check_choice(_OWNER, "allocator", self.allocator, allocator_names())
        check_choice(_OWNER, "rebalance", self.rebalance, SCHEDULES)
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

    def make_allocator(self) -> Any:
        """A fresh allocator instance."""
        from seqfolio.allocators import make_allocator

        return make_allocator(self.allocator, self.params, owner=_OWNER)

    @property
    def label(self) -> str:
        """A short human-readable name, e.g. ``hrp(linkage=average) lb252 monthly``."""
        params = ",".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        cap = f" cap{self.max_weight:g}" if self.max_weight is not None else ""
        return f"{self.allocator}({params}) lb{self.lookback} {self.rebalance}{cap}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_toml(self) -> str:
        """The configuration as a ``seqfolio backtest --config`` TOML document."""
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
        if self.params:
            lines += ["", "[allocator_params]"]
            for key, value in sorted(self.params.items()):
                literal = (
                    f'"{value}"'
                    if isinstance(value, str)
                    else repr(value).lower()
                    if isinstance(value, bool)
                    else repr(value)
                )
                lines.append(f"{key} = {literal}")
        return "\n".join(lines) + "\n"
