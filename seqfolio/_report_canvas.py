"""The matplotlib backend QuantStats draws with inside :func:`seqfolio.reporting.tearsheet`.

Agg, except that ``draw_idle`` does nothing: ``pyplot.savefig`` redraws the whole figure after saving
it (to refresh an interactive window), which for a figure written into the report and then closed is
wasted work -- about a quarter of a tear sheet's time. The files written are byte-identical.
"""

from __future__ import annotations

from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg

__all__ = ["FigureCanvas"]


class FigureCanvas(FigureCanvasAgg):
    """A non-interactive Agg canvas that skips the idle redraw."""

    def draw_idle(self, *args: Any, **kwargs: Any) -> None:
        return None
