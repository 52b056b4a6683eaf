"""Server-rendered SVG charts for the admin's activity dashboard: no script, no CDN.

Each chart is one `<svg>` with a `<title>` and an `aria-label` that say its numbers, wrapped in a
link to the list behind it. Text is escaped by `format_html`.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH = 600
HEIGHT = 160
# Text is drawn in the viewBox's units: a 600-unit chart on a 390-pixel phone is drawn at about
# 0.6 of its size, so 18 units stay readable there (about 11 pixels).
FONT = 18
LABEL_ROOM = 24
TOP_LINE = 30
TOP_BAR = 24


def bar_chart(
    *, title: str, values: Sequence[int], labels: Sequence[str], link: str, colour: str
) -> SafeString:
    """Vertical bars, one per slot, the first and last slot labelled below."""
    count = max(len(values), 1)
    highest = max([*values, 1])
    slot = WIDTH / count
    room = HEIGHT - LABEL_ROOM
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>',
        (
            (
                _number(index * slot + 1),
                _number(room - value / highest * room),
                _number(max(slot - 2, 1)),
                _number(value / highest * room),
                colour,
                labels[index] if index < len(labels) else "",
                value,
            )
            for index, value in enumerate(values)
        ),
    )
    first = labels[0] if labels else ""
    last = labels[-1] if labels else ""
    return format_html(
        '<a class="chart" href="{}"><svg xmlns="http://www.w3.org/2000/svg" role="img" '
        'viewBox="0 0 {} {}" width="100%" aria-label="{}: {} in all, at most {} in one slot">'
        "<title>{}</title>{}"
        '<text x="0" y="{}" font-size="{}" fill="currentColor">{}</text>'
        '<text x="{}" y="{}" font-size="{}" text-anchor="end" fill="currentColor">{}</text>'
        '<text x="{}" y="{}" font-size="{}" text-anchor="end" fill="currentColor">max {}</text>'
        "</svg></a>",
        link,
        WIDTH,
        HEIGHT,
        title,
        sum(values),
        max([*values, 0]),
        title,
        bars,
        HEIGHT - 4,
        FONT,
        first,
        WIDTH,
        HEIGHT - 4,
        FONT,
        last,
        WIDTH,
        FONT,
        FONT,
        max([*values, 0]),
    )


def top_chart(*, title: str, rows: Sequence[tuple[str, int, str]], colour: str) -> SafeString:
    """Horizontal bars, one per (label, count, link) row, largest first."""
    if not rows:
        return format_html('<p class="chart-empty">{}: nothing yet.</p>', title)
    highest = max(count for _, count, _ in rows) or 1
    line = TOP_LINE
    items = format_html_join(
        "",
        '<a href="{}"><rect x="0" y="{}" width="{}" height="{}" fill="{}"></rect>'
        '<text x="4" y="{}" font-size="{}" fill="currentColor">{} ({})</text></a>',
        (
            (
                link,
                index * line,
                _number(max(count / highest * WIDTH, 2)),
                TOP_BAR,
                colour,
                index * line + FONT,
                FONT,
                label,
                count,
            )
            for index, (label, count, link) in enumerate(rows)
        ),
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {} {}" width="100%" '
        'aria-label="{}"><title>{}</title>{}</svg>',
        WIDTH,
        len(rows) * line,
        title,
        title,
        items,
    )


def _number(value: float) -> str:
    return f"{value:.1f}"
