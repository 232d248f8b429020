"""Price data: the bundled real sample, a validating CSV reader, and return windows.

Missing values convention
-------------------------
A price frame has one column per asset and a sorted, unique ``DatetimeIndex``. An asset that lists late
or stops trading early keeps NaN outside its life: nothing is filled, and the only rows
:func:`read_prices` drops are dates with no price at all (with a :class:`PriceDataWarning`).
Downstream code (allocators through :func:`trailing_returns`, the backtrader strategy) allocates
only to assets that have a price on every bar of the window it looks at.
"""

from __future__ import annotations

from seqfolio.data.errors import PriceDataError, PriceDataWarning
from seqfolio.data.readers import SPLIT_LOG_MOVE, read_prices
from seqfolio.data.sample import SAMPLE_ASSETS, load_benchmark, load_sample
from seqfolio.data.windows import assets_priced_in, period_prices, trailing_returns

__all__ = [
    "SAMPLE_ASSETS",
    "SPLIT_LOG_MOVE",
    "PriceDataError",
    "PriceDataWarning",
    "assets_priced_in",
    "period_prices",
    "load_benchmark",
    "load_sample",
    "read_prices",
    "trailing_returns",
]
