"""Interval charts as inline SVG, drawn in Python: no script, nothing loaded, the same bytes every run.

One row per model; each series is a dot at the value and a bar from the lower to the upper
bound of its interval. Colours come from the stylesheet (classes ``s0``, ``s1``, ...).
"""

from __future__ import annotations

import math

from markupsafe import Markup, escape

from vizhub_pipeline.report.boards import Board, Interval

WIDTH = 1000
LABEL = 330  # room for the model names on the left
VALUE = 160  # room for the first series' value and interval on the right
TOP = 44  # legend and axis
ROW_GAP = 10
SERIES_GAP = 9
MAX_LABEL = 46


def format_value(value: float | None, *, percent: bool = False, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    return f"{value * 100:.0f}%" if percent else f"{value:.{digits}f}"


def format_interval(interval: Interval, *, percent: bool = False) -> str:
    text = format_value(interval.value, percent=percent)
    if interval.value is not None and interval.low is not None and interval.high is not None:
        text += f" [{format_value(interval.low, percent=percent)}, {format_value(interval.high, percent=percent)}]"
    return text


def nice_ticks(low: float, high: float, target: int = 6) -> list[float]:
    """Round tick values covering ``low..high`` (steps of 1, 2, 2.5 or 5 times a power of ten)."""
    if high <= low:
        high = low + 1
    raw = (high - low) / target
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def short_label(label: str) -> str:
    """A model name that fits the label column: middle path parts dropped first (``a/…/name``), then cut."""
    if len(label) <= MAX_LABEL:
        return label
    parts = label.split("/")
    if len(parts) > 2:
        label = f"{parts[0]}/\u2026/{parts[-1]}"
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "\u2026"


def interval_chart(board: Board) -> Markup:
    """The board's rows as an SVG interval chart (empty markup when no row has a value)."""
    rows = [row for row in board.rows if any(isinstance(row.get(key), Interval) for key, _ in board.series)]
    if not rows:
        return Markup("")
    low, high = board.scale
    plot = WIDTH - LABEL - VALUE
    band = ROW_GAP * 2 + SERIES_GAP * (len(board.series) - 1)
    height = TOP + band * len(rows) + 28

    def x(value: float) -> str:
        clipped = min(max(value, low), high)
        return f"{LABEL + (clipped - low) / (high - low) * plot:.1f}"

    ticks = nice_ticks(low, high)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
        f'aria-label="{escape(board.title)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    legend_x = LABEL
    for index, (_, label) in enumerate(board.series):
        parts.append(f'<circle class="dot s{index}" cx="{legend_x + 5}" cy="14" r="5"/>')
        parts.append(f'<text class="legend" x="{legend_x + 14}" y="18">{escape(label)}</text>')
        legend_x += 24 + 8 * len(label)
    if len(board.series) > 1:
        note = f"value at right: {escape(board.series[0][1])}"
        parts.append(f'<text class="legend muted" x="{WIDTH - 4}" y="18" text-anchor="end">{note}</text>')
    bottom = TOP + band * len(rows)
    for tick in ticks:
        parts.append(f'<line class="grid" x1="{x(tick)}" x2="{x(tick)}" y1="{TOP - 6}" y2="{bottom}"/>')
        label = format_value(tick, percent=board.percent, digits=0 if float(tick).is_integer() else 1)
        parts.append(f'<text class="tick" x="{x(tick)}" y="{TOP - 10}" text-anchor="middle">{label}</text>')
        parts.append(f'<text class="tick" x="{x(tick)}" y="{bottom + 16}" text-anchor="middle">{label}</text>')
    for position, row in enumerate(rows):
        top = TOP + band * position
        model = str(row.get("model", ""))
        rank = row.get("rank")
        name = f"{rank}. {model}" if rank is not None else model
        details = "; ".join(
            f"{label} {format_interval(row[key], percent=board.percent)}"
            for key, label in board.series
            if isinstance(row.get(key), Interval)
        )
        parts.append(f'<g class="row"><title>{escape(model)}: {escape(details)}</title>')
        if position % 2 == 0:
            parts.append(f'<rect class="stripe" x="0" y="{top}" width="{WIDTH}" height="{band}"/>')
        middle = top + band / 2
        label = escape(short_label(name))
        parts.append(f'<text class="label" x="{LABEL - 10}" y="{middle + 4:.1f}" text-anchor="end">{label}</text>')
        for index, (key, _) in enumerate(board.series):
            interval = row.get(key)
            if not isinstance(interval, Interval) or interval.value is None:
                continue
            y = top + ROW_GAP + SERIES_GAP * index
            if interval.low is not None and interval.high is not None:
                parts.append(
                    f'<line class="bar s{index}" x1="{x(interval.low)}" x2="{x(interval.high)}" y1="{y}" y2="{y}"/>'
                )
                for end in (interval.low, interval.high):
                    parts.append(f'<line class="cap s{index}" x1="{x(end)}" x2="{x(end)}" y1="{y - 4}" y2="{y + 4}"/>')
            parts.append(f'<circle class="dot s{index}" cx="{x(interval.value)}" cy="{y}" r="4.5"/>')
        first = row.get(board.series[0][0])
        if isinstance(first, Interval):
            value = format_interval(first, percent=board.percent)
            parts.append(f'<text class="value" x="{LABEL + plot + 12}" y="{middle + 4:.1f}">{value}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))
