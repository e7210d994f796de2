"""What every analysis figure shares: the measured / estimated / published styles, readable fonts and log axes.

No legend, tick label, annotation or title of a shipped figure is smaller than
:data:`MIN_FONT_PT` at the saved size (:func:`save_figure` never scales a
figure, so points in the figure are points in the PNG); figures pass
``fontsize=MIN_FONT_PT`` for their smallest text instead of a number of their
own, and :mod:`benchlib.analysis.figure_checks` checks every shipped figure.

A log axis over a narrow range (0.3 to 0.9 J/token) gets matplotlib's minor
tick labels (``3×10⁻¹``, ``4×10⁻¹`` ...) that run into each other;
:func:`fit_log_ticks` picks, per log axis, the densest of a few tick sets
(1-2-5, 1-3, decades ...) whose labels do not overlap once drawn, and prints
them as plain numbers.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "ESTIMATED_COLOR",
    "IMPORTED_COLOR",
    "IMPLAUSIBLE_LABEL",
    "IMPLAUSIBLE_MARKER",
    "MEASURED_COLOR",
    "MIN_FONT_PT",
    "PUBLISHED_COLOR",
    "REJECTED_EDGE_COLOR",
    "fit_log_ticks",
    "layout_above_legend",
    "overlapping_tick_labels",
    "pyplot",
    "save_figure",
]

MEASURED_COLOR = "#1f77b4"
ESTIMATED_COLOR = "#9ecae1"
IMPORTED_COLOR = "#a1d99b"
PUBLISHED_COLOR = "#bbbbbb"
REJECTED_EDGE_COLOR = "#cc0000"
"""Outline (and marker colour) of a published claim the plausibility check rejects."""
IMPLAUSIBLE_MARKER = "X"
"""The marker of a published claim the plausibility check rejects, wherever claims are drawn as points."""
IMPLAUSIBLE_LABEL = (
    "published claim, implausible: the plausibility check rejects it "
    "(above the bandwidth ceiling or beyond any published measurement)"
)
"""The legend entry of a rejected claim, the same words in every figure."""
MIN_FONT_PT = 8.0
"""The smallest text of any figure (legend, tick label, annotation), in points at the saved size."""

# Tick multipliers per decade, from sparse to dense.
_TICK_SETS: tuple[tuple[float, ...], ...] = (
    (1.0,),
    (1.0, 3.0),
    (1.0, 2.0, 5.0),
    (1.0, 2.0, 3.0, 5.0),
    (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0),
)
_ENOUGH_TICKS = 4


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend (figures are files, not windows)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path, tight: bool = True):
    """Save ``figure`` as a 120-dpi PNG at ``path`` (cropped to its content when ``tight``), close it, return ``path``."""
    figure.savefig(path, dpi=120, bbox_inches="tight" if tight else None)
    pyplot().close(figure)
    return path


def _plain_number(value: float, _position: Any = None) -> str:
    return f"{value:g}"


def _axis(axes, which: str):
    return axes.xaxis if which == "x" else axes.yaxis


def _drawn_labels(axes, which: str) -> list[tuple[str, Any]]:
    """(text, window box) of the drawn, non-empty tick labels (major and minor) of one axis inside its view."""
    renderer = axes.figure.canvas.get_renderer()
    low, high = sorted(axes.get_xlim() if which == "x" else axes.get_ylim())
    axis = _axis(axes, which)
    return [
        (tick.label1.get_text(), tick.label1.get_window_extent(renderer))
        for tick in axis.get_major_ticks() + axis.get_minor_ticks()
        if tick.label1.get_visible() and tick.label1.get_text() and low <= tick.get_loc() <= high
    ]


def overlapping_tick_labels(axes, which: str = "x") -> list[tuple[str, str]]:
    """Pairs of drawn tick labels (major and minor) of one axis whose boxes overlap (empty: readable).

    Args:
        axes: A matplotlib ``Axes`` whose figure has been drawn (``figure.canvas.draw()``).
        which: ``"x"`` or ``"y"``.

    Raises:
        ValueError: ``which`` is neither ``"x"`` nor ``"y"``.
    """
    if which not in ("x", "y"):
        raise ValueError(f"which must be 'x' or 'y', got {which!r}.")
    boxes = _drawn_labels(axes, which)
    pairs = []
    for index, (text, box) in enumerate(boxes):
        for other_text, other in boxes[index + 1 :]:
            if box.overlaps(other):
                pairs.append((text, other_text))
    return pairs


def _decades(axes, which: str, step: int):
    """Ticks at every ``step``-th power of ten in view (ranges so wide that even decades collide)."""
    from matplotlib.ticker import FixedLocator

    low, high = sorted(axes.get_xlim() if which == "x" else axes.get_ylim())
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    return FixedLocator([10.0**e for e in range(first, last + 1) if e % step == 0])


def _labels_collide(axes, which: str, locator) -> tuple[bool, int]:
    """Whether the labels ``locator`` would give collide on screen, and how many are in view; nothing is drawn."""
    from matplotlib.font_manager import FontProperties

    low, high = sorted(axes.get_xlim() if which == "x" else axes.get_ylim())
    locations = [v for v in locator.tick_values(low, high) if low <= v <= high]
    renderer = axes.figure.canvas.get_renderer()
    size = _axis(axes, which).get_major_ticks()[0].label1.get_fontsize()
    font = FontProperties(size=size)
    spans = []
    for value in locations:
        width, height, _ = renderer.get_text_width_height_descent(_plain_number(value), font, ismath=False)
        point = (value, low) if which == "x" else (low, value)
        centre = axes.transData.transform(point)[0 if which == "x" else 1]
        half = (width if which == "x" else height) / 2 + renderer.points_to_pixels(2.0)  # 2 pt of air between labels
        spans.append((centre - half, centre + half))
    spans.sort()
    collide = any(end > start for (_, end), (start, _) in zip(spans, spans[1:]))
    return collide, len(locations)


def _labelled(axes, which: str) -> bool:
    params = _axis(axes, which).get_tick_params(which="major")
    keys = ("labelbottom", "labeltop") if which == "x" else ("labelleft", "labelright")
    return any(params.get(key, False) for key in keys)


def _choose_locator(axes, which: str):
    """The tick locator whose labels read best on one log axis without colliding."""
    from matplotlib.ticker import LogLocator, MaxNLocator

    low, high = sorted(axes.get_xlim() if which == "x" else axes.get_ylim())
    if high < 10 * low:  # less than a decade: three or more evenly spaced plain numbers read best
        for bins in (7, 5, 4, 3):
            plain = MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10])
            collide, count = _labels_collide(axes, which, plain)
            if not collide and count >= 3:
                return plain
    chosen, chosen_count = None, 0
    for subs in _TICK_SETS:
        locator = LogLocator(base=10.0, subs=subs, numticks=99)
        collide, count = _labels_collide(axes, which, locator)
        if collide:
            break
        chosen, chosen_count = locator, count
        if count >= _ENOUGH_TICKS:
            break
    if chosen is None:  # even the decades collide
        steps = [_decades(axes, which, step) for step in (2, 3, 5, 10)]
        return next((locator for locator in steps if not _labels_collide(axes, which, locator)[0]), steps[-1])
    if chosen_count < 2:  # a range so narrow that no two plain numbers of 1..9 fall in it
        plain = MaxNLocator(nbins=2, steps=[1, 2, 2.5, 5, 10])
        return plain if not _labels_collide(axes, which, plain)[0] else chosen
    return chosen


def fit_log_ticks(figure) -> None:
    """Give every log-scaled axis of ``figure`` tick labels that never overlap, printed as plain numbers.

    Less than a decade in view gets three or more evenly spaced ticks if they
    fit; otherwise tries the ticks of one decade from sparse (``1``) to dense (``1..9``)
    and keeps the first with at least four labels in view, or the densest
    whose labels do not collide; a range so wide that even decades collide
    labels every second (third ...) decade. Call it once the layout is final
    (after ``tight_layout``): label sizes are measured with the figure's
    renderer, without drawing.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    for axes in figure.axes:
        for which in ("x", "y"):
            scale = axes.get_xscale() if which == "x" else axes.get_yscale()
            if scale != "log" or not _labelled(axes, which):
                continue  # linear, or an inner panel of a shared axis: its labels are hidden
            axis = _axis(axes, which)
            axis.set_major_locator(_choose_locator(axes, which))
            axis.set_major_formatter(FuncFormatter(_plain_number))
            axis.set_minor_locator(LogLocator(base=10.0, subs="auto", numticks=99))
            axis.set_minor_formatter(NullFormatter())


def layout_above_legend(figure, legend_in: float) -> None:
    """Lay the panels out above a figure-level legend ``legend_in`` inches tall, with fitted log ticks.

    ``tight_layout`` leaves the bottom band to the legend, :func:`fit_log_ticks`
    chooses the tick labels for that layout, and a second ``tight_layout`` makes
    room for the labels it chose.
    """
    rect = (0, legend_in / figure.get_figheight(), 1, 1)
    figure.tight_layout(rect=rect)
    fit_log_ticks(figure)
    figure.tight_layout(rect=rect)
