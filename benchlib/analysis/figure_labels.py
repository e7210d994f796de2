"""Labels beside points that never cover each other, another text or another labelled point.

A point is labelled with :func:`label_point`; once the figure's layout is final,
:func:`place_point_labels` moves each label to the first of a few positions
around its point (right and above, right and below, left ...) where its box
stays inside its panel and overlaps no text already drawn, no label already
placed and no other labelled point. A label with no free position keeps the one
that overlaps least.
"""

from __future__ import annotations

from typing import Any

from benchlib.analysis.figure_checks import drawn_texts
from benchlib.analysis.figure_style import MIN_FONT_PT

__all__ = ["POINT_LABEL_GID", "label_point", "place_point_labels"]

POINT_LABEL_GID = "point-label"
"""The gid of every label :func:`label_point` draws."""

_OFFSETS_PT: tuple[tuple[float, float, str, str], ...] = (
    (5, 3, "left", "bottom"), (5, -3, "left", "top"), (-5, 3, "right", "bottom"), (-5, -3, "right", "top"),
    (5, 12, "left", "bottom"), (5, -12, "left", "top"), (-5, 12, "right", "bottom"), (-5, -12, "right", "top"),
    (0, 8, "center", "bottom"), (0, -8, "center", "top"), (5, 22, "left", "bottom"), (5, -22, "left", "top"),
    (-5, 22, "right", "bottom"), (-5, -22, "right", "top"),
)  # fmt: skip
"""Where a label may sit, in points from its point: (dx, dy, horizontal and vertical alignment), first choice first."""
_POINT_HALF_PX = 5.0
"""Half the side of the box a labelled point's marker is taken to fill, in pixels."""


def label_point(axes, text: str, xy: tuple[float, float], **style: Any):
    """Write ``text`` beside the data point ``xy`` of ``axes`` at :data:`MIN_FONT_PT`; returns the annotation.

    The label is left out of ``tight_layout`` (it is placed inside its panel later, by :func:`place_point_labels`).
    """
    style.setdefault("fontsize", MIN_FONT_PT)
    dx, dy, ha, va = _OFFSETS_PT[0]
    label = axes.annotate(text, xy, textcoords="offset points", xytext=(dx, dy), ha=ha, va=va, **style)
    label.set_gid(POINT_LABEL_GID)
    label.set_in_layout(False)
    return label


def _overlap_px(box, other) -> float:
    width = min(box.x1, other.x1) - max(box.x0, other.x0)
    height = min(box.y1, other.y1) - max(box.y0, other.y0)
    return width * height if width > 0 and height > 0 else 0.0


def _inside(box, frame) -> bool:
    return box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0 and box.y1 <= frame.y1


def place_point_labels(figure) -> None:
    """Move every :func:`label_point` label of ``figure`` to a free position (see the module). Call after layout."""
    from matplotlib.transforms import Bbox

    texts = drawn_texts(figure)
    labels = [text for text, _ in texts if text.get_gid() == POINT_LABEL_GID]
    if not labels:
        return
    renderer = figure.canvas.get_renderer()
    taken = [box for text, box in texts if text.get_gid() != POINT_LABEL_GID]
    points = []
    for label in labels:
        x, y = label.axes.transData.transform(label.xy)
        points.append(Bbox.from_extents(x - _POINT_HALF_PX, y - _POINT_HALF_PX, x + _POINT_HALF_PX, y + _POINT_HALF_PX))
    for index, label in enumerate(labels):
        frame = label.axes.get_window_extent(renderer)
        others = taken + [box for position, box in enumerate(points) if position != index]
        best, best_cost = None, None
        for dx, dy, ha, va in _OFFSETS_PT:
            label.xyann = (dx, dy)
            label.set_ha(ha)
            label.set_va(va)
            box = label.get_window_extent(renderer)
            cost = sum(_overlap_px(box, other) for other in others) + (0.0 if _inside(box, frame) else 1e9)
            if best_cost is None or cost < best_cost:
                best, best_cost = (dx, dy, ha, va), cost
            if cost == 0.0:
                break
        dx, dy, ha, va = best
        label.xyann = (dx, dy)
        label.set_ha(ha)
        label.set_va(va)
        taken.append(label.get_window_extent(renderer))
