"""Checks that a drawn figure reads: no text over other text, no font under the minimum, no bars on a log axis.

:func:`readability_problems` draws a figure with its own renderer and names,
in words, every pair of overlapping texts (titles, axis and tick labels,
legend entries, annotations), every text smaller than
:data:`~benchlib.analysis.figure_style.MIN_FONT_PT` at the saved size, and every
bar on a logarithmic axis (a bar's length on a log axis means nothing: the 8 ms
bar looks half the 120 ms one). The report's figures are saved at the size they
are drawn (:func:`~benchlib.analysis.figure_style.save_figure` never scales), so a
font's points in the figure are its points in the PNG.
"""

from __future__ import annotations

from typing import Any

from benchlib.analysis.figure_style import MIN_FONT_PT

__all__ = ["bars_on_log_axes", "drawn_texts", "overlapping_texts", "readability_problems", "small_texts"]

_AIR_PX = 0.5
"""Boxes that only touch (less than this many pixels in common) do not overlap."""


def _tick_labels(axes) -> tuple[list[Any], list[Any]]:
    """(drawn, hidden) tick labels of one axes: a label is drawn when its tick is in view and it is visible."""
    drawn, hidden = [], []
    for which, axis in (("x", axes.xaxis), ("y", axes.yaxis)):
        low, high = sorted(axes.get_xlim() if which == "x" else axes.get_ylim())
        span = (high - low) * 1e-9
        for tick in axis.get_major_ticks() + axis.get_minor_ticks():
            location = tick.get_loc()
            in_view = location is not None and low - span <= location <= high + span
            for label in (tick.label1, tick.label2):
                shown = axes.axison and axis.get_visible() and tick.get_visible() and label.get_visible() and in_view
                (drawn if shown else hidden).append(label)
    return drawn, hidden


def drawn_texts(figure) -> list[tuple[Any, Any]]:
    """(text artist, window box in pixels) of every non-empty text the figure draws.

    Draws ``figure`` first. Tick labels count only when their tick is in view.
    """
    from matplotlib.text import Text

    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    hidden: set[int] = set()
    legends = list(figure.legends) + [axes.get_legend() for axes in figure.axes if axes.get_legend() is not None]
    for legend in legends:
        if not legend.get_visible():
            hidden.update(id(t) for t in legend.findobj(Text))
    for axes in figure.axes:
        if not axes.get_visible():
            hidden.update(id(t) for t in axes.findobj(Text))
            continue
        hidden.update(id(label) for label in _tick_labels(axes)[1])
    return [
        (text, text.get_window_extent(renderer))
        for text in figure.findobj(Text)
        if id(text) not in hidden and text.get_visible() and text.get_text().strip()
    ]


def _small(boxes: list[tuple[Any, Any]], min_pt: float) -> list[tuple[str, float]]:
    return [(text.get_text(), text.get_fontsize()) for text, _ in boxes if text.get_fontsize() < min_pt]


def small_texts(figure, min_pt: float = MIN_FONT_PT) -> list[tuple[str, float]]:
    """(text, size in pt) of every drawn text smaller than ``min_pt``."""
    return _small(drawn_texts(figure), min_pt)


def _overlaps(boxes: list[tuple[Any, Any]]) -> list[tuple[str, str]]:
    pairs = []
    for index, (text, box) in enumerate(boxes):
        for other_text, other in boxes[index + 1 :]:
            width = min(box.x1, other.x1) - max(box.x0, other.x0)
            height = min(box.y1, other.y1) - max(box.y0, other.y0)
            if width > _AIR_PX and height > _AIR_PX:
                pairs.append((text.get_text(), other_text.get_text()))
    return pairs


def overlapping_texts(figure) -> list[tuple[str, str]]:
    """Pairs of drawn texts whose boxes overlap by more than a touch (empty: nothing is written over anything)."""
    return _overlaps(drawn_texts(figure))


def bars_on_log_axes(figure) -> list[str]:
    """The titles (or positions) of the panels that draw a bar on a logarithmic axis."""
    from matplotlib.patches import Rectangle

    found = []
    for index, axes in enumerate(figure.axes):
        if "log" not in (axes.get_xscale(), axes.get_yscale()):
            continue
        if any(isinstance(patch, Rectangle) for patch in axes.patches):
            found.append(axes.get_title() or axes.get_title(loc="left") or f"panel {index}")
    return found


def readability_problems(figure, min_pt: float = MIN_FONT_PT) -> list[str]:
    """Everything that keeps a reader from reading ``figure``, one sentence each (empty: it reads).

    Args:
        figure: A matplotlib ``Figure`` laid out as it will be saved.
        min_pt: The smallest font allowed, in points at the saved size.
    """
    boxes = drawn_texts(figure)
    problems = [f"{text!r} is {size:g} pt, under {min_pt:g} pt" for text, size in _small(boxes, min_pt)]
    problems += [f"{a!r} overlaps {b!r}" for a, b in _overlaps(boxes)]
    problems += [f"bars on a log axis in {title!r}" for title in bars_on_log_axes(figure)]
    return problems
