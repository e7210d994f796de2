"""What every analysis figure shares: the measured / estimated / published styles and readable log axes.

A log axis over a narrow range (0.3 to 0.9 J/token) gets matplotlib's minor
tick labels (``3×10⁻¹``, ``4×10⁻¹`` ...) that run into each other;
:func:`fit_log_ticks` picks, per log axis, the densest of a few tick sets
(1-2-5, 1-3, decades ...) whose labels do not overlap once drawn, and prints
them as plain numbers.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ESTIMATED_COLOR",
    "MEASURED_COLOR",
    "PUBLISHED_COLOR",
    "fit_log_ticks",
    "overlapping_tick_labels",
    "pyplot",
]

MEASURED_COLOR = "#1f77b4"
ESTIMATED_COLOR = "#9ecae1"
PUBLISHED_COLOR = "#bbbbbb"

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


def _plain_number(value: float, _position: Any = None) -> str:
    return f"{value:g}"


def _axis(axes, which: str):
    return axes.xaxis if which == "x" else axes.yaxis


def _drawn_labels(axes, which: str) -> list[tuple[str, Any]]:
    """(text, window box) of the drawn, non-empty major tick labels of one axis inside its view."""
    renderer = axes.figure.canvas.get_renderer()
    low, high = sorted(axes.get_xlim() if which == "x" else axes.get_ylim())
    return [
        (tick.label1.get_text(), tick.label1.get_window_extent(renderer))
        for tick in _axis(axes, which).get_major_ticks()
        if tick.label1.get_visible() and tick.label1.get_text() and low <= tick.get_loc() <= high
    ]


def overlapping_tick_labels(axes, which: str = "x") -> list[tuple[str, str]]:
    """Pairs of drawn tick labels of one axis whose boxes overlap (empty: readable).

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


def _apply(axes, which: str, subs: tuple[float, ...] | None, decade_step: int = 1) -> None:
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

    axis = _axis(axes, which)
    if decade_step == 1:
        axis.set_major_locator(LogLocator(base=10.0, subs=subs, numticks=99))
    else:  # very wide ranges: one labelled decade in ``decade_step``
        import math

        low, high = sorted(axes.get_xlim() if which == "x" else axes.get_ylim())
        first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
        axis.set_major_locator(FixedLocator([10.0**e for e in range(first, last + 1) if e % decade_step == 0]))
    axis.set_major_formatter(FuncFormatter(_plain_number))
    axis.set_minor_locator(LogLocator(base=10.0, subs="auto", numticks=99))
    axis.set_minor_formatter(NullFormatter())


def fit_log_ticks(figure) -> None:
    """Give every log-scaled axis of ``figure`` tick labels that never overlap.

    For each log axis, tries the tick sets of one decade from sparse (``1``)
    to dense (``1..9``) and keeps the first with at least four labels in view,
    or the densest one whose labels do not overlap; a range so wide that even
    decades collide labels every second (third ...) decade. Call it after the
    figure's layout is final (``tight_layout``); it draws the figure.
    """
    figure.canvas.draw()
    for axes in figure.axes:
        for which in ("x", "y"):
            scale = axes.get_xscale() if which == "x" else axes.get_yscale()
            if scale != "log":
                continue
            _apply(axes, which, _TICK_SETS[-1])
            figure.canvas.draw()
            if not _drawn_labels(axes, which):
                continue  # an inner panel of a shared axis: its labels are hidden
            chosen = None
            for subs in _TICK_SETS:
                _apply(axes, which, subs)
                figure.canvas.draw()
                if overlapping_tick_labels(axes, which):
                    break
                chosen = subs
                if len(_drawn_labels(axes, which)) >= _ENOUGH_TICKS:
                    break
            if chosen is not None:
                _apply(axes, which, chosen)
                continue
            for step in (2, 3, 5, 10):
                _apply(axes, which, None, decade_step=step)
                figure.canvas.draw()
                if not overlapping_tick_labels(axes, which):
                    break
    figure.canvas.draw()
