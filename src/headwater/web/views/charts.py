"""Bar charts as inline SVG for the metrics page: a bar per run (durations, recorded figures)
or per task (p50 and p95), with a labelled scale. Pure: bars in, SVG out."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

HEIGHT = 150
LEFT = 56  # room for the scale's labels
BOTTOM = 22
TOP = 8
BAR_GAP = 4


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its height, colour (a state tone), label under it and what it says."""

    value: float
    label: str
    title: str
    tone: str = "plan"
    href: str | None = None


def nice_top(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (the scale's top)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return float(next(step * power for step in (1, 2, 5, 10) if step * power >= value))


def bar_chart(bars: Sequence[Bar], title: str, scale: str = "") -> Markup:
    """A chart of `bars`, left to right; `scale` names the unit of the values ("s")."""
    if not bars:
        return Markup(f'<p class="muted">No figures yet for {escape(title)}.</p>')  # noqa: S704 - every text in it went through escape()
    top = nice_top(max(bar.value for bar in bars))
    width_each = max(10, min(40, 600 // len(bars)))
    width = LEFT + len(bars) * (width_each + BAR_GAP) + 8
    chart = HEIGHT - TOP - BOTTOM
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
             f'aria-label="{escape(title)}" width="{width}" height="{HEIGHT}" '
             f'viewBox="0 0 {width} {HEIGHT}"><title>{escape(title)}</title>']
    for fraction in (0, 0.5, 1):
        y = TOP + chart * (1 - fraction)
        parts.append(f'<line class="grid" x1="{LEFT - 4}" y1="{y:.1f}" x2="{width}" '
                     f'y2="{y:.1f}"/><text class="scale" x="{LEFT - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{_figure(top * fraction)}{escape(scale)}</text>')
    step = max(1, len(bars) // 10)  # label every bar of a short chart, some of a long one
    for index, bar in enumerate(bars):
        x = LEFT + index * (width_each + BAR_GAP)
        height = chart * bar.value / top
        rect = (f'<rect class="bar tone-{bar.tone}" x="{x}" y="{TOP + chart - height:.1f}" '
                f'width="{width_each}" height="{max(height, 1):.1f}">'
                f"<title>{escape(bar.title)}</title></rect>")
        parts.append(f'<a href="{escape(bar.href)}">{rect}</a>' if bar.href else rect)
        if index % step == 0:
            parts.append(f'<text class="bar-label" x="{x + width_each / 2:.1f}" '
                         f'y="{HEIGHT - 6}" text-anchor="middle">{escape(bar.label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()


def _figure(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


__all__ = ["Bar", "bar_chart", "nice_top"]
