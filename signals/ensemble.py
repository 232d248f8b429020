"""``LSTMEnsemble``: N seeds of one :class:`~seqfolio.signals.LSTMForecaster`, trained as one population.

The forecasts are the mean of the members'. It speaks the forecaster's protocol (``fit``, ``predict``,
``predict_history``, ``history_needed``, ``save`` / ``load``, sklearn parameters, ``target`` and
``horizon``), so it goes wherever a forecaster goes: ``RebalanceStrategy(signal=LSTMEnsemble(...))``,
walk-forward retraining and its checkpoints.
"""

from __future__ import annotations

import os

import pandas as pd
from sklearn.base import BaseEstimator, clone

from seqfolio._validation import check_int
from seqfolio.signals.forecaster import LSTMForecaster
from seqfolio.signals.population import fit_population

_FORMAT = "seqfolio.signals.LSTMEnsemble/1"


class LSTMEnsemble(BaseEstimator):
    """The mean forecast of ``n_members`` forecasters that differ only in their seed.

    Parameters
    ----------
    forecaster : LSTMForecaster, optional
        The members' configuration (``num_layers=1``, ``dropout=0``); its ``random_state`` is
        replaced by the member's seed. Default ``LSTMForecaster()``. Its parameters are this
        estimator's nested parameters (``forecaster__hidden_size`` ...).
    n_members : int, default 5
    random_state : int or None, default None
        Member ``k`` is seeded ``random_state + k``; None draws a fresh seed per member.
    n_threads : int or None, default 1
        As for :func:`~seqfolio.signals.fit_population` (the result does not depend on it).

    Attributes
    ----------
    members_ : list of LSTMForecaster
        The fitted members, trained together by :func:`~seqfolio.signals.fit_population`.

    Notes
    -----
    Averaging is done on the forecasts (volatilities, returns, probabilities, correlations), not on
    the network outputs. Fitting costs about one population of ``n_members`` (see the memory note of
    :func:`~seqfolio.signals.fit_population`); predicting costs ``n_members`` forecasts.
    """

    members_: list[LSTMForecaster]

    def __init__(
        self,
        forecaster: LSTMForecaster | None = None,
        n_members: int = 5,
        random_state: int | None = None,
        n_threads: int | None = 1,
    ):
        self.forecaster = forecaster
        self.n_members = n_members
        self.random_state = random_state
        self.n_threads = n_threads

    def _template(self) -> LSTMForecaster:
        if self.forecaster is None:
            return LSTMForecaster()
        if not isinstance(self.forecaster, LSTMForecaster):
            raise TypeError(
                f"The 'forecaster' parameter of LSTMEnsemble must be an LSTMForecaster. Got "
                f"{type(self.forecaster).__name__} instead."
            )
        return self.forecaster

    @property
    def target(self) -> str:
        """The members' target (what the pipeline converts the forecast by)."""
        return self._template().target

    @property
    def horizon(self) -> int:
        """The members' horizon in bars."""
        return int(self._template().horizon)

    def fit(self, prices: pd.DataFrame) -> LSTMEnsemble:
        """Train the members on ``prices`` as one population; see :meth:`LSTMForecaster.fit`."""
        owner = type(self).__name__
        check_int(owner, "n_members", self.n_members, low=1)
        check_int(owner, "random_state", self.random_state, low=0, allow_none=True)
        check_int(owner, "n_threads", self.n_threads, low=1, allow_none=True)
        template = self._template()
        seeds = [None if self.random_state is None else int(self.random_state) + k
                 for k in range(int(self.n_members))]  # fmt: skip
        members = [clone(template).set_params(random_state=s) for s in seeds]
        self.members_ = fit_population(members, prices, n_threads=self.n_threads)
        return self

    def _check_fitted(self, where: str) -> None:
        if not hasattr(self, "members_"):
            raise ValueError(
                f"LSTMEnsemble.{where}: this instance is not fitted yet; call fit first."
            )

    def predict(self, prices: pd.DataFrame) -> pd.Series:
        """The members' mean forecast per asset for the last bar (see :meth:`LSTMForecaster.predict`)."""
        self._check_fitted("predict")
        forecasts = [m.predict(prices) for m in self.members_]
        return sum(forecasts[1:], forecasts[0]) / len(forecasts)

    def predict_history(self, prices: pd.DataFrame, start: object = None) -> pd.DataFrame:
        """The members' mean forecasts for every bar (see :meth:`LSTMForecaster.predict_history`)."""
        self._check_fitted("predict_history")
        forecasts = [m.predict_history(prices, start) for m in self.members_]
        return sum(forecasts[1:], forecasts[0]) / len(forecasts)

    def history_needed(self) -> int:
        """Rows of prices :meth:`predict` needs (the members share their features)."""
        if hasattr(self, "members_"):
            return max(m.history_needed() for m in self.members_)
        return self._template().history_needed()

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the members (each as :meth:`LSTMForecaster.save` would) to one file, atomically."""
        from seqfolio.signals._persist import write_payload

        self._check_fitted("save")
        params = self.get_params(deep=False)
        params["forecaster"] = self._template().get_params(deep=False)
        members = [m._payload() for m in self.members_]
        write_payload({"format": _FORMAT, "params": params, "members": members}, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LSTMEnsemble:
        """Rebuild an ensemble written by :meth:`save` (``torch.load(weights_only=True)``)."""
        from seqfolio.signals._persist import read_payload, rebuilding

        payload = read_payload(path, cls.__name__, _FORMAT)
        with rebuilding(path, cls.__name__):
            params = dict(payload["params"])
            params["forecaster"] = LSTMForecaster(**params["forecaster"])
            est = cls(**params)
            members = list(payload["members"])
        est.members_ = [LSTMForecaster._from_payload(m, path) for m in members]
        return est
