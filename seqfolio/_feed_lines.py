"""One output line per data feed for backtrader indicators (shared by both indicator adapters).

backtrader fixes an indicator's lines on the class, but the number of feeds is only known when the
indicator is created. ``per_feed_subclass`` is called from ``doprenew`` and swaps in a cached subclass
with one line per feed passed, labelled with the feed names for ``cerebro.plot()``.
"""

from __future__ import annotations

from typing import Any

import backtrader as bt


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
    names = tuple(getattr(d, "_name", "") or f"data{i}" for i, d in enumerate(datas))
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
