"""The run's timeline (a Gantt chart) as inline SVG: a row per task and per for-each
iteration, a bar per attempt (retries side by side on their task's row, each in its state's
colour), a thin line for the time an attempt waited before it started, and a time axis.

Each bar links to its attempt's log (for who may read logs) and says in its title what it
was. Attempts still running reach `now`. Pure: a `RunView` in, SVG out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from headwater.web.views.formats import duration, instant
from headwater.web.views.run_view import Attempt, RunView

LABEL_WIDTH = 210
CHART_WIDTH = 760
ROW_HEIGHT = 18
BAR_HEIGHT = 12
AXIS_HEIGHT = 24
LABEL_CHARS = 28
STEPS_MS = (1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000,
            900_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000, 43_200_000, 86_400_000)


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the chart: a label, and the attempts drawn on it."""

    label: str
    attempts: Sequence[Attempt]
    nested: bool = False  # an iteration, under its for-each


def rows_of(view: RunView) -> list[Row]:
    rows = []
    for task in view.tasks:
        rows.append(Row(task.task_key, task.attempts))
        for iteration in task.iterations:
            label = f"[{iteration.index}] {iteration.input}"
            rows.append(Row(label, iteration.attempts, nested=True))
    return rows


def timeline_svg(view: RunView, now_ms: int, link: Callable[[Attempt], str | None]) -> Markup:
    """The chart of every attempt of `view`; `link(attempt)` is where a bar leads (None: it
    is not a link)."""
    rows = rows_of(view)
    starts = [a.queued_at or a.start for row in rows for a in row.attempts if a.start]
    if not starts:
        return Markup('<p class="muted timeline-empty">No task has started yet.</p>')
    t0 = min(starts)
    t1 = max([now_ms if not a.end else a.end for row in rows for a in row.attempts if a.start])
    span = max(t1 - t0, 1000)
    height = AXIS_HEIGHT + len(rows) * ROW_HEIGHT + 4
    width = LABEL_WIDTH + CHART_WIDTH + 10

    def x(moment: int) -> float:
        return LABEL_WIDTH + (moment - t0) / span * CHART_WIDTH

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" '
             f'aria-label="Timeline of every attempt, {len(rows)} rows" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}">',
             _axis(t0, span, height, x)]
    for index, row in enumerate(rows):
        y = AXIS_HEIGHT + index * ROW_HEIGHT
        parts.append(_row(row, y, x, now_ms, link))
    parts.append("</svg>")
    return Markup("\n".join(parts))  # noqa: S704 - every text in it went through escape()


def _axis(t0: int, span: int, height: int, x: Callable[[int], float]) -> str:
    step = next((s for s in STEPS_MS if span / s <= 8), STEPS_MS[-1])
    parts = [f'<text class="axis-start" x="4" y="14">{escape(instant(t0))}</text>']
    tick = 0
    while tick <= span:
        left = x(t0 + tick)
        parts.append(f'<line class="tick" x1="{left:.1f}" y1="{AXIS_HEIGHT - 6}" '
                     f'x2="{left:.1f}" y2="{height}"/>'
                     f'<text class="tick-label" x="{left + 3:.1f}" y="14">+{duration(tick)}'
                     "</text>")
        tick += step
    return "".join(parts)


def _row(row: Row, y: int, x: Callable[[int], float], now_ms: int,
         link: Callable[[Attempt], str | None]) -> str:
    label = row.label if len(row.label) <= LABEL_CHARS else row.label[: LABEL_CHARS - 1] + "…"
    indent = 14 if row.nested else 4
    parts = [f'<g class="row{" nested" if row.nested else ""}">'
             f'<text class="label" x="{indent}" y="{y + 13}">{escape(label)}'
             f"<title>{escape(row.label)}</title></text>"]
    for attempt in row.attempts:
        if attempt.start:
            parts.append(_bar(attempt, y, x, now_ms, link(attempt)))
    parts.append("</g>")
    return "".join(parts)


def _bar(attempt: Attempt, y: int, x: Callable[[int], float], now_ms: int,
         href: str | None) -> str:
    end = attempt.end or now_ms
    left, right = x(attempt.start), x(end)
    what = f"{attempt.task_key}" + (f" [{attempt.iteration}]" if attempt.iteration is not None
                                    else "")
    title = (f"{what} attempt {attempt.attempt_number}"
             + (f" (repair {attempt.repair})" if attempt.repair else "")
             + f": {attempt.shown.words}, {instant(attempt.start)}"
             + (f", {duration(attempt.end - attempt.start)}" if attempt.end else ", running"))
    waited = ""
    if attempt.queued_at and attempt.queued_at < attempt.start:
        waited = (f'<line class="waited" x1="{x(attempt.queued_at):.1f}" y1="{y + 9}" '
                  f'x2="{left:.1f}" y2="{y + 9}"/>')
    bar = (f'<rect class="bar tone-{attempt.shown.tone}" x="{left:.1f}" y="{y + 3}" '
           f'width="{max(right - left, 2):.1f}" height="{BAR_HEIGHT}" rx="2">'
           f"<title>{escape(title)}</title></rect>")
    if href is None:
        return waited + bar
    return f'{waited}<a href="{escape(href)}" aria-label="{escape(title)}">{bar}</a>'


__all__ = ["Row", "rows_of", "timeline_svg"]
