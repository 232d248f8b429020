"""What the two LSTM estimators share: parameter checks, the fit around the training loop, running the
fitted network, and saving / loading.

:class:`~seqfolio.signals.LSTMForecaster` (one forecast per asset) and
:class:`~seqfolio.signals.LSTMAllocator` (portfolio weights) differ in their inputs, network and loss;
everything else is :class:`LSTMEstimator`. torch is imported inside the methods only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from seqfolio._validation import InvalidParameter, check_bool, check_int, check_real


def broken_network(where: str, returned: str, consequence: str = "") -> ValueError:
    """The error for a network that returns non-finite values for finite inputs: only broken weights
    do that, and a NaN would pass for "no forecast" or empty the portfolio without anyone noticing."""
    return ValueError(
        f"{where}: the network returned {returned}: the fitted model is broken (its weights hold NaN "
        f"or inf, e.g. edited or from a damaged checkpoint){consequence}. Retrain it (delete its "
        "checkpoint file first, if it was loaded from one)."
    )


class LSTMEstimator(BaseEstimator):
    """Base of the LSTM estimators (scikit-learn protocol; see docs/architecture.md).

    A subclass declares its parameters in ``__init__`` (including at least those checked by
    :meth:`_validate_params` here), and writes ``_new_network``, ``_fitted_state`` and
    ``_restore_state``; :meth:`_train`, :meth:`_outputs`, :meth:`save` and :meth:`load` do the rest.
    """

    _FORMAT: ClassVar[str]  # the format tag save writes
    _OLD_FORMATS: ClassVar[tuple[str, ...]] = ()  # earlier tags load still reads
    _FINITE: ClassVar[tuple[str, ...]] = ()  # saved entries besides the weights that must be finite

    # parameters every subclass has (set in its __init__)
    window: int
    hidden_size: int
    dropout: float
    max_epochs: int
    batch_size: int
    learning_rate: float
    patience: int
    validation_fraction: float
    grad_clip: float | None
    winsorize_limit: float
    warm_start: bool
    device: str
    n_threads: int | None
    progress: bool
    random_state: int | None
    # fitted attributes (set by fit / load)
    assets_: list[Any]
    model_: Any
    training_: Any

    def _validate_params(self) -> None:
        owner = type(self).__name__
        check_int(owner, "window", self.window, low=2)
        check_int(owner, "hidden_size", self.hidden_size, low=1)
        check_real(owner, "dropout", self.dropout, low=0.0, high=1.0, high_open=True)
        check_int(owner, "max_epochs", self.max_epochs, low=1)
        check_int(owner, "batch_size", self.batch_size, low=2)
        check_real(owner, "learning_rate", self.learning_rate, low=0.0, low_open=True)
        check_int(owner, "patience", self.patience, low=1)
        check_real(
            owner, "validation_fraction", self.validation_fraction, low=0.0, high=1.0,
            high_open=True,
        )  # fmt: skip
        check_real(owner, "grad_clip", self.grad_clip, low=0.0, low_open=True, allow_none=True)
        check_real(owner, "winsorize_limit", self.winsorize_limit, low=0.0, low_open=True)
        check_bool(owner, "warm_start", self.warm_start)
        if not isinstance(self.device, str) or not (
            self.device in ("auto", "cpu") or self.device.startswith("cuda")
        ):
            raise InvalidParameter(owner, "device", self.device, "'auto', 'cpu' or 'cuda[:i]'")
        check_int(owner, "n_threads", self.n_threads, low=1, allow_none=True)
        check_bool(owner, "progress", self.progress)
        check_int(owner, "random_state", self.random_state, low=0, allow_none=True)

    def _check_fitted(self, where: str) -> None:
        if not hasattr(self, "model_"):
            raise ValueError(
                f"{type(self).__name__}.{where}: this instance is not fitted yet; call fit first."
            )

    def _warm(self, assets: list[Any]) -> bool:
        """Whether this fit continues from the previous one (``warm_start`` and fitted)."""
        warm = bool(self.warm_start) and hasattr(self, "model_")
        if warm and list(assets) != list(self.assets_):
            raise ValueError(
                f"{type(self).__name__}.fit: warm_start=True needs the same assets, in the same "
                "order, as the previous fit."
            )
        return warm

    # ---------------------------------------------------------------------------------------------
    # fit and forecast
    # ---------------------------------------------------------------------------------------------
    def _new_network(self, input_size: int, n_assets: int) -> Any:
        """A freshly initialised network (draws from torch's global RNG)."""
        raise NotImplementedError

    def _train(
        self,
        warm: bool,
        network: Callable[[], Any],
        loss: Callable[[Any, Any], Any],
        datasets: Callable[[Any], tuple[Any, Any]],
        epoch_samples: int | None = None,
    ) -> tuple[Any, Any]:
        """Train ``network()`` (or, warm, the current network) on ``datasets(device)``.

        The weights are drawn and the epochs shuffled under ``random_state``, on ``n_threads``
        threads whose number changes no bit of the result. Returns the trained network and its
        :class:`~seqfolio.signals.trainer.TrainingResult`.
        """
        from seqfolio.signals._torch import compute_threads, resolve_device, seeded
        from seqfolio.signals.trainer import train

        device = resolve_device(self.device, type(self).__name__)
        with (
            compute_threads(self.n_threads, device) as workers,
            seeded(self.random_state, device) as generator,
        ):
            model = self.model_.to(device) if warm else network().to(device)
            train_data, val_data = datasets(device)
            result = train(
                model,
                loss,
                train_data,
                val_data,
                max_epochs=int(self.max_epochs),
                batch_size=int(self.batch_size),
                learning_rate=self.learning_rate,
                patience=int(self.patience) if val_data is not None else None,
                grad_clip=self.grad_clip,
                generator=generator,
                progress=self.progress,
                workers=workers,
                epoch_samples=epoch_samples,
            )
        return model, result

    def _outputs(self, model: Any, data: Callable[[Any], Any]) -> np.ndarray:
        """``model``'s outputs for every sample of ``data(device)`` (on the model's device), as
        float64, in fixed chunks on ``n_threads`` threads."""
        from seqfolio.signals._torch import compute_threads
        from seqfolio.signals.trainer import forward_chunks

        device = next(model.parameters()).device
        with compute_threads(self.n_threads, device) as workers:
            model.eval()
            outputs, _ = forward_chunks(model, data(device), workers)
        return outputs.cpu().numpy().astype(float)

    # ---------------------------------------------------------------------------------------------
    # persistence
    # ---------------------------------------------------------------------------------------------
    def _fitted_state(self) -> dict[str, Any]:
        """The fitted attributes :meth:`save` writes besides the network (tensors, plain types)."""
        raise NotImplementedError

    def _restore_state(self, payload: dict[str, Any]) -> None:
        """Set the fitted attributes from a saved payload (the inverse of :meth:`_fitted_state`)."""
        raise NotImplementedError

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted model: network weights, parameters and scalers, as tensors and plain types.

        The file is written atomically (a temporary file renamed into place), so a process killed
        while saving never leaves a truncated model under ``path``. Load it back with :meth:`load`,
        which uses ``torch.load(weights_only=True)``.
        """
        from seqfolio.signals._persist import write_payload

        write_payload(self._payload(), path)

    def _payload(self) -> dict[str, Any]:
        """What :meth:`save` writes (also a member's entry in a saved ``LSTMEnsemble``)."""
        self._check_fitted("save")
        assets = list(self.assets_)
        if not all(isinstance(a, (str, int)) for a in assets):
            raise TypeError(
                f"{type(self).__name__}.save: asset names must be str or int to be saved."
            )
        return {
            "format": self._FORMAT,
            "params": self.get_params(deep=False),
            "input_size": int(self.model_.lstm.input_size),
            "state_dict": {k: v.detach().cpu() for k, v in self.model_.state_dict().items()},
            "assets": assets,
            **self._fitted_state(),
        }

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Any:
        """Rebuild a fitted model written by :meth:`save` (``torch.load(weights_only=True)``)."""
        from seqfolio.signals._persist import read_payload

        return cls._from_payload(
            read_payload(path, cls.__name__, cls._FORMAT, cls._OLD_FORMATS), path
        )

    @classmethod
    def _from_payload(cls, payload: dict[str, Any], path: str | os.PathLike[str]) -> Any:
        """The model a :meth:`_payload` describes (``path`` only names the file in errors)."""
        from seqfolio.signals._persist import rebuilding, require_finite
        from seqfolio.signals._torch import resolve_device

        require_finite(payload, ("state_dict", *cls._FINITE), path, cls.__name__)
        with rebuilding(path, cls.__name__):
            est = cls(**payload["params"])
            est._validate_params()
            assets = list(payload["assets"])
            model = est._new_network(int(payload["input_size"]), len(assets))
            model.load_state_dict(payload["state_dict"])
            est.assets_ = assets
            est._restore_state(payload)
        model.eval()
        est.model_ = model.to(resolve_device(est.device, f"{cls.__name__} (saved in {path})"))
        return est
