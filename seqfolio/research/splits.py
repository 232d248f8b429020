"""Walk-forward windows: train, then (after a purge and an embargo) test, rolling or expanding."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from seqfolio._validation import check_int


@dataclass(frozen=True)
class Window:
    """One walk-forward window, as positions into the date index (``stop`` exclusive).

    Train rows are ``[train_start, train_stop)`` and test rows ``[test_start, test_stop)``, with
    ``test_start - train_stop == purge + embargo``.
    """

    number: int
    train_start: int
    train_stop: int
    test_start: int
    test_stop: int

    def train_dates(self, index: pd.DatetimeIndex) -> pd.DatetimeIndex:
        return index[self.train_start : self.train_stop]

    def test_dates(self, index: pd.DatetimeIndex) -> pd.DatetimeIndex:
        return index[self.test_start : self.test_stop]


def walk_forward_windows(
    n_bars: int,
    *,
    train: int,
    test: int,
    purge: int = 0,
    embargo: int = 0,
    expanding: bool = False,
    start: int = 0,
) -> list[Window]:
    """Consecutive walk-forward windows over ``n_bars`` bars.

    Parameters
    ----------
    n_bars : int
        Length of the date index.
    train, test : int
        Bars in each training part (the first one, when ``expanding``) and each test part. Test parts
        tile the data without overlap; the last one may be shorter.
    purge : int, default 0
        Bars dropped between train and test so that no training label (which looks ``horizon`` bars
        ahead) overlaps the test part: set it to the longest label horizon.
    embargo : int, default 0
        Further bars dropped after the purge, against serial correlation.
    expanding : bool, default False
        Training parts all start at ``start`` (expanding) instead of rolling with fixed length.
    start : int, default 0
        First bar any window may use.

    Returns
    -------
    list of Window

    Raises
    ------
    ValueError
        For non-positive sizes or when the data cannot hold one window.
    """
    train, test, purge, embargo = (
        check_int("walk_forward_windows", name, value, low=low)
        for name, value, low in (("train", train, 1), ("test", test, 1), ("purge", purge, 0),
                                 ("embargo", embargo, 0))
    )  # fmt: skip
    gap = purge + embargo
    if start + train + gap + 1 > n_bars:
        raise ValueError(
            f"walk_forward_windows: {n_bars} bars cannot hold one window (train={train}, purge={purge}, "
            f"embargo={embargo}, test>=1); use shorter windows or more data."
        )
    windows: list[Window] = []
    test_start = start + train + gap
    while test_start < n_bars:
        train_stop = test_start - gap
        train_start = start if expanding else train_stop - train
        windows.append(
            Window(
                number=len(windows),
                train_start=train_start,
                train_stop=train_stop,
                test_start=test_start,
                test_stop=min(test_start + test, n_bars),
            )
        )
        test_start += test
    return windows
