"""One output line per data feed for backtrader indicators (the base of both indicator adapters).

backtrader fixes an indicator's lines on the class, but the number of feeds is only known when the
indicator is created. :class:`PerFeedIndicator`'s ``doprenew`` swaps in a cached subclass with one
line per feed passed (:func:`per_feed_subclass`), labelled with the feed names for ``cerebro.plot()``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, ClassVar

import backtrader as bt
import numpy as np
import pandas as pd

_EPOCH = bt.date2num(dt.datetime(1970, 1, 1))  # backtrader's float date of the Unix epoch


def date_index(stamps: np.ndarray) -> pd.DatetimeIndex:
    """backtrader float dates -> a ``DatetimeIndex`` named ``"date"`` (microsecond precision), as
    the strategy's close history and :func:`~seqfolio.signals.indicators.feed_closes` build it."""
    micros = np.round((np.asarray(stamps, dtype=float) - _EPOCH) * 86_400_000_000).astype("int64")
    return pd.DatetimeIndex(micros.astype("datetime64[us]"), name="date")


def feed_names(datas: Iterable[Any]) -> list[str]:
    """Asset names of feeds: the ``name=`` given to ``adddata``, else ``data0``, ``data1``, ..."""
    return [getattr(d, "_name", "") or f"data{i}" for i, d in enumerate(datas)]


def per_feed_subclass(
    cls: type, registry: dict[tuple[str, ...], type], prefix: str, usage: str, args: tuple[Any, ...]
) -> type:
    """The subclass of ``cls`` with lines ``{prefix}0 .. {prefix}n-1`` for the feeds in ``args``.

    ``registry`` caches subclasses by base class and feed names; ``usage`` is the example shown when
    no feed is passed.
    """
    datas = [a for a in args if isinstance(a, bt.LineRoot)]
    if not datas:
        raise TypeError(f"{cls.__name__} needs the feeds as positional arguments, e.g. {usage}.")
    names = tuple(feed_names(datas))
    current = getattr(cls, "_feed_names", None)  # None on the base class, the names on a subclass
    if current == names:
        return cls
    base = cls if current is None else cls.__mro__[1]
    key = (f"{base.__module__}.{base.__qualname__}", *names)
    sub = registry.get(key)
    if sub is None:
        lines = tuple(f"{prefix}{i}" for i in range(len(names)))
        sub = type(base)(
            f"_{base.__name__}_{len(names)}",
            (base,),
            {
                "lines": lines,
                "plotlines": {
                    line: {"_name": name} for line, name in zip(lines, names, strict=True)
                },
                "_feed_names": names,
                "__module__": base.__module__,
            },
        )
        registry[key] = sub
    return sub


class PerFeedIndicator(bt.Indicator):
    """An indicator with one line per feed passed positionally (``{_prefix}0``, ``{_prefix}1``, ...).

    Subclasses set ``_prefix`` and ``_usage`` (the call shown when no feed is passed).
    """

    lines = ()
    _prefix: ClassVar[str] = "v"
    _usage: ClassVar[str] = ""
    _feed_names: ClassVar[tuple[str, ...] | None] = None
    _classes: ClassVar[dict[tuple[str, ...], type]] = {}

    @classmethod
    def doprenew(cls, *args: Any, **kwargs: Any) -> tuple[type, tuple[Any, ...], dict[str, Any]]:
        """Swap in a subclass with one line per feed passed (called by backtrader's metaclass)."""
        sub = per_feed_subclass(cls, PerFeedIndicator._classes, cls._prefix, cls._usage, args)
        return sub, args, kwargs

    @property
    def feed_names(self) -> list[str]:
        """The feeds' names, one per line."""
        return list(self._feed_names or ())

    def _values(self, ago: int) -> pd.Series:
        """The lines at ``ago`` bars back (0 = this bar) as a Series indexed by feed name."""
        names = self.feed_names
        return pd.Series([self.lines[i][-ago] for i in range(len(names))], index=names)
