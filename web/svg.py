"""Small inline SVG charts drawn on the server: no script, no library, no CDN.

Pure functions from numbers to markup. Labels are escaped; the markup is safe to put in
a page as it is. Sizes are in the SVG's own units; the CSS scales the chart to the page
width (viewBox), so it fits a phone and an office screen alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 14, 30


def nice_max(value: float) -> float:
    """A round axis maximum at or above value (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if value <= m * exp:
            return m * exp
    return 10 * exp


def _fmt(v: float) -> str:
    """An axis label: as few decimals as the value needs (0, 1.25, 2.5, 12.5, 50)."""
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _frame(title: str, y_max: float) -> list[str]:
    """The svg element, title, and the y axis with 4 grid lines.

    The unit is named in the title (and the page's heading), not drawn: a label left
    of the axis numbers would crowd them on a phone.
    """
    h = HEIGHT - TOP - BOTTOM
    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        y = TOP + h - h * i / 4
        out.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="ylab" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_fmt(y_max * i / 4)}</text>"
        )
    return out


def line_chart(
    points: Sequence[tuple[float, float]],
    *,
    x_min: float,
    x_max: float,
    x_ticks: Sequence[tuple[float, str]],
    title: str,
    empty_text: str,
) -> str:
    """A filled line over x_min..x_max (e.g. today's power); empty_text when no points."""
    w, h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    y_max = nice_max(max((y for _, y in points), default=0))
    out = _frame(title, y_max)
    span = (x_max - x_min) or 1

    def xy(x: float, y: float) -> str:
        return f"{LEFT + w * (x - x_min) / span:.1f},{TOP + h - h * y / y_max:.1f}"

    for i, (x, label) in enumerate(x_ticks):
        px = LEFT + w * (x - x_min) / span
        # the last label ends at the axis' end, so it stays inside the picture
        anchor = "end" if i == len(x_ticks) - 1 and i > 0 else "middle"
        out.append(
            f'<text class="xlab" x="{px:.1f}" y="{HEIGHT - 10}" text-anchor="{anchor}">'
            f"{escape(label)}</text>"
        )
    if points:
        line = " ".join(xy(x, y) for x, y in points)
        base = TOP + h
        first, last = points[0][0], points[-1][0]
        out.append(
            f'<polygon class="area" points="{xy(first, 0)} {line} {xy(last, 0)}"/>'
            if len(points) > 1
            else ""
        )
        out.append(f'<polyline class="line" points="{line}"/>')
        out.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}"/>')
    else:
        out.append(
            f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
            f"{escape(empty_text)}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def bars_with_line(
    bars: Sequence[float | None],
    line: Sequence[float | None],
    *,
    labels: Sequence[str],
    label_every: int,
    title: str,
    bar_name: str,
    line_name: str,
    empty_text: str,
) -> str:
    """Bars (this station per day) with a line over them (its peers' median per day).

    Every label_every-th day is labelled, counted back from the last one.

    A None bar is a day without data (no bar drawn); a None line point breaks the line.
    """
    w, h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM - 16
    values = [v for v in (*bars, *line) if v is not None]
    y_max = nice_max(max(values, default=0))
    out = _frame(title, y_max)
    n = max(len(bars), 1)
    step = w / n
    for i, v in enumerate(bars):
        if v is None:
            continue
        bh = h * v / y_max
        out.append(
            f'<rect class="bar" x="{LEFT + i * step + step * 0.15:.1f}" '
            f'y="{TOP + h - bh:.1f}" width="{step * 0.7:.1f}" height="{bh:.1f}"/>'
        )
    for i, label in enumerate(labels):
        # counted back from the last day (today's is always labelled); the first bar's
        # label would sit on the axis' 0
        if (len(labels) - 1 - i) % label_every == 0 and i > 0:
            out.append(
                f'<text class="xlab" x="{LEFT + (i + 0.5) * step:.1f}" y="{TOP + h + 16}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    segment: list[str] = []
    segments = []
    for i, v in enumerate(line):
        if v is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{LEFT + (i + 0.5) * step:.1f},{TOP + h - h * v / y_max:.1f}")
    if segment:
        segments.append(segment)
    for seg in segments:
        out.append(f'<polyline class="peer" points="{" ".join(seg)}"/>')
    if not values:
        out.append(
            f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
            f"{escape(empty_text)}</text>"
        )
    # legend
    ly = HEIGHT - 6
    out.append(
        f'<rect class="bar" x="{LEFT}" y="{ly - 9}" width="12" height="9"/>'
        f'<text class="legend" x="{LEFT + 16}" y="{ly}">{escape(bar_name)}</text>'
        f'<line class="peer" x1="{LEFT + 200}" x2="{LEFT + 222}" y1="{ly - 4}" y2="{ly - 4}"/>'
        f'<text class="legend" x="{LEFT + 228}" y="{ly}">{escape(line_name)}</text>'
    )
    out.append("</svg>")
    return "".join(out)
