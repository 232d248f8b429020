"""Price frames as zipline bundles: the bundled data, a user's CSVs or a DataFrame, ingested offline.

:func:`ingest_prices` writes one CSV per asset in zipline's ``csvdir`` layout and ingests it as a
registered bundle under a ``ZIPLINE_ROOT`` folder of your choice (default
``~/.cache/seqfolio/zipline``, or under ``$XDG_CACHE_HOME``). It is idempotent: the same prices,
name and calendar are ingested once; different prices under the same name replace the older
ingestion.

What the bundle holds (docs/zipline.md, "What differs"):

- each asset's rows run from its first to its last price, so a late listing is the asset's
  ``start_date`` and a delisting its ``end_date``; zipline closes a position still held after its
  ``end_date`` at its last close (the ``csvdir`` bundle sets ``auto_close_date`` to the day after);
- a session without a price inside an asset's life is written with close 0 and volume 0: zipline
  reads it back as NaN and fills no order on it, as backtrader does on a feed without a bar;
- a priced session has a volume of :data:`VOLUME` shares, so volume never limits a fill;
- zipline stores prices in thousandths of a unit (uint32): :meth:`Bundle.prices` gives the closes as
  the algorithm will see them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqfolio.data.frames import check_prices
from seqfolio.zipline._require import require_zipline

__all__ = ["DEFAULT_CALENDAR", "VOLUME", "Bundle", "default_root", "get_calendar", "ingest_prices"]

logger = logging.getLogger("seqfolio.zipline")

DEFAULT_CALENDAR = "XNYS"
"""The New York Stock Exchange calendar (zipline's default)."""

VOLUME = 1_000_000_000
"""Shares traded on every priced session of an ingested bundle (fits zipline's uint32 volume)."""

_MAX_PRICE = (2**32 - 1) / 1000  # zipline stores prices as uint32 thousandths
_SYMBOL = re.compile(r"^[A-Za-z0-9_-]+$")


def default_root() -> Path:
    """``$XDG_CACHE_HOME/seqfolio/zipline`` (``~/.cache/seqfolio/zipline`` without it)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "seqfolio" / "zipline"


def get_calendar(name: Any, owner: str, start: pd.Timestamp | None = None) -> Any:
    """zipline's trading calendar ``name`` (from ``start`` if given), or a one-line ValueError."""
    require_zipline()
    from zipline.utils.calendar_utils import get_calendar as zipline_calendar
    from zipline.utils.calendar_utils import get_calendar_names

    if not isinstance(name, str) or name not in get_calendar_names():
        raise ValueError(
            f"The 'calendar' parameter of {owner} must be a trading calendar name known to "
            f"exchange_calendars such as 'XNYS' (New York) or 'XLON' (London). Got {name!r} instead."
        )
    return zipline_calendar(name) if start is None else zipline_calendar(name, start=start)


@dataclass(frozen=True)
class Bundle:
    """An ingested bundle: what :func:`ingest_prices` returns.

    Attributes
    ----------
    name : str
        The bundle's registered name (``run_algorithm(bundle=name, ...)``).
    root : pathlib.Path
        Its ``ZIPLINE_ROOT``.
    calendar : str
        Its trading calendar.
    start, end : pandas.Timestamp
        First and last session with a price.
    assets : tuple of str
        The symbols, in column order.
    """

    name: str
    root: Path
    calendar: str
    start: pd.Timestamp
    end: pd.Timestamp
    assets: tuple[str, ...]

    @property
    def csv_folder(self) -> Path:
        """The ``csvdir`` folder the bundle is ingested from (``<folder>/daily/<symbol>.csv``)."""
        return self.root / "csvdir" / self.name

    @property
    def environ(self) -> dict[str, str]:
        """``os.environ`` with ``ZIPLINE_ROOT`` set to :attr:`root` (``run_algorithm(environ=...)``)."""
        return {**os.environ, "ZIPLINE_ROOT": str(self.root)}

    def register(self) -> None:
        """Register the bundle's name with zipline in this process (needed before loading it)."""
        require_zipline()
        from zipline.data import bundles
        from zipline.data.bundles.csvdir import csvdir_equities

        if self.name in bundles.bundles:
            bundles.unregister(self.name)
        bundles.register(
            self.name, csvdir_equities(["daily"], str(self.csv_folder)),
            calendar_name=self.calendar, start_session=self.start, end_session=self.end,
        )  # fmt: skip

    def run_kwargs(self) -> dict[str, Any]:
        """``bundle``, ``environ`` and ``trading_calendar`` for ``zipline.run_algorithm``
        (registers the bundle first)."""
        self.register()
        return {
            "bundle": self.name,
            "environ": self.environ,
            # the very calendar object the bundle's readers use: zipline asserts they are equal
            "trading_calendar": get_calendar(self.calendar, "Bundle"),
        }

    def prices(self) -> pd.DataFrame:
        """The closes as zipline stores them (thousandths), NaN where an asset has no price."""
        self.register()
        from zipline.data import bundles

        data = bundles.load(self.name, self.environ)
        finder = data.asset_finder
        by_symbol = {a.symbol: a for a in finder.retrieve_all(finder.sids)}
        assets = [by_symbol[s] for s in self.assets]
        reader = data.equity_daily_bar_reader
        sessions = reader.sessions[(reader.sessions >= self.start) & (reader.sessions <= self.end)]
        (closes,) = reader.load_raw_arrays(
            ["close"], sessions[0], sessions[-1], [a.sid for a in assets]
        )
        frame = pd.DataFrame(closes, index=pd.DatetimeIndex(sessions, name="date"),
                             columns=list(self.assets))  # fmt: skip
        return frame.where(frame > 0)


def _as_frame(data: Any, owner: str) -> pd.DataFrame:
    """The prices ``data`` names: None = the bundled sample, a path or paths = ``read_prices``."""
    from seqfolio.data import load_sample, read_prices

    if data is None:
        return load_sample()
    if isinstance(data, (str, os.PathLike)) or (
        isinstance(data, Sequence) and not isinstance(data, pd.DataFrame)
    ):
        return read_prices(data)
    check_prices(data, owner)
    return data


def _check_for_zipline(prices: pd.DataFrame, calendar: Any, calendar_name: str, owner: str) -> None:
    """Refuse what a zipline bundle cannot hold, naming the column or dates and the fix."""
    bad = [str(c) for c in prices.columns if not (isinstance(c, str) and _SYMBOL.match(c))]
    if bad:
        raise ValueError(
            f"{owner}: column(s) {bad} cannot be zipline symbols (csvdir file names): use letters, "
            "digits, '_' and '-' only (e.g. rename 'BRK.B' to 'BRK-B')."
        )
    values = prices.to_numpy(dtype=float)
    if (values[~np.isnan(values)] <= 0).any() or (values[~np.isnan(values)] > _MAX_PRICE).any():
        column = prices.columns[((prices <= 0) | (prices > _MAX_PRICE)).any().to_numpy()][0]
        raise ValueError(
            f"{owner}: column '{column}' has a price <= 0 or above {_MAX_PRICE:,.0f}, which zipline "
            "cannot store (prices are uint32 thousandths); fix or drop that column."
        )
    index = prices.index
    if (index != index.normalize()).any():
        raise ValueError(
            f"{owner}: prices must be daily (dates at midnight) for a zipline bundle; the first row "
            f"with a time of day is {index[index != index.normalize()][0]}."
        )
    if index[0] < calendar.first_session:
        raise ValueError(
            f"{owner}: prices start on {index[0].date()}, before the {calendar_name} calendar's "
            f"first session {calendar.first_session.date()}; pass prices from that date on."
        )
    sessions = calendar.sessions_in_range(index[0], index[-1])
    extra = index.difference(sessions)
    if len(extra):
        raise ValueError(
            f"{owner}: prices have {len(extra)} row(s) on dates that are not {calendar_name} sessions "
            f"(first: {extra[0].date()}); drop them, or pass the calendar of the exchange they come "
            "from (calendar=...)."
        )


def _digest(prices: pd.DataFrame, calendar: str) -> str:
    h = hashlib.sha256()
    h.update(calendar.encode())
    h.update("\0".join(map(str, prices.columns)).encode())
    h.update(prices.index.asi8.tobytes())
    h.update(np.ascontiguousarray(prices.to_numpy(dtype=float)).tobytes())
    return h.hexdigest()[:20]


def _write_csvs(prices: pd.DataFrame, sessions: pd.DatetimeIndex, folder: Path) -> None:
    """One ``<symbol>.csv`` per asset over the sessions from its first to its last price."""
    if folder.exists():
        shutil.rmtree(folder)
    daily = folder / "daily"
    daily.mkdir(parents=True)
    for symbol in prices.columns:
        column = prices[symbol]
        priced = column.dropna()
        life = sessions[(sessions >= priced.index[0]) & (sessions <= priced.index[-1])]
        close = column.reindex(life)
        gap = close.isna().to_numpy()
        close = close.fillna(0.0)  # read back as NaN: no price, no fill
        frame = pd.DataFrame(
            {"open": close, "high": close, "low": close, "close": close,
             "volume": np.where(gap, 0, VOLUME), "dividend": 0.0, "split": 1.0},
            index=pd.DatetimeIndex(life, name="date"),
        )  # fmt: skip
        frame.to_csv(daily / f"{symbol}.csv", float_format="%.6f")


def ingest_prices(
    data: Any = None,
    *,
    name: str = "seqfolio",
    root: str | os.PathLike[str] | None = None,
    calendar: str = DEFAULT_CALENDAR,
) -> Bundle:
    """Ingest prices as a zipline ``csvdir`` bundle (once: a rerun with the same prices is a no-op).

    Parameters
    ----------
    data : DataFrame, path, list of paths or None, default None
        Close prices: a wide DataFrame (dates x assets, NaN = no price), price files as
        :func:`~seqfolio.data.read_prices` reads them (wide or long), or None for the bundled sample
        (:func:`~seqfolio.data.load_sample`).
    name : str, default "seqfolio"
        The bundle's name.
    root : str or path or None
        The ``ZIPLINE_ROOT`` folder; default :func:`default_root`.
    calendar : str, default "XNYS"
        A trading calendar name of exchange_calendars; every price date must be one of its sessions.

    Returns
    -------
    Bundle

    Raises
    ------
    seqfolio.zipline.ZiplineMissingError
        Without zipline-reloaded (``pip install "seqfolio[zipline]"``).
    ValueError
        For an unknown calendar, dates that are not its sessions, a column with no price, a symbol
        zipline cannot take, or a price it cannot store.
    """
    owner = "ingest_prices"
    require_zipline()
    from seqfolio.data import assets_priced_in

    if not isinstance(name, str) or not _SYMBOL.match(name):
        raise ValueError(
            f"The 'name' parameter of {owner} must be a bundle name of letters, digits, '_' and "
            f"'-'. Got {name!r} instead."
        )
    prices = _as_frame(data, owner)
    if prices.index.tz is not None:
        prices = prices.tz_localize(None)
    prices = assets_priced_in(prices, owner=owner)  # a column without any price is an error
    cal = get_calendar(calendar, owner, prices.index[0])
    _check_for_zipline(prices, cal, calendar, owner)
    sessions = cal.sessions_in_range(prices.index[0], prices.index[-1])
    bundle = Bundle(
        name=name, root=Path(root) if root is not None else default_root(), calendar=calendar,
        start=pd.Timestamp(sessions[0]), end=pd.Timestamp(sessions[-1]),
        assets=tuple(str(c) for c in prices.columns),
    )  # fmt: skip
    digest = _digest(prices, calendar)
    marker = bundle.root / "seqfolio" / f"{name}.json"
    bundle.register()
    from zipline.data import bundles

    if marker.exists() and json.loads(marker.read_text()).get("digest") == digest:
        if list(bundles.ingestions_for_bundle(name, bundle.environ)):
            logger.debug("%s: bundle %r is up to date in %s", owner, name, bundle.root)
            return bundle
    _write_csvs(prices, sessions, bundle.csv_folder)
    marker.unlink(missing_ok=True)
    bundles.ingest(name, environ=bundle.environ, show_progress=False)
    bundles.clean(name, keep_last=1, environ=bundle.environ)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"digest": digest, "calendar": calendar,
                                  "assets": list(bundle.assets)}))  # fmt: skip
    logger.info("%s: ingested bundle %r (%d assets, %s .. %s) in %s", owner, name,
                len(bundle.assets), bundle.start.date(), bundle.end.date(), bundle.root)  # fmt: skip
    return bundle
