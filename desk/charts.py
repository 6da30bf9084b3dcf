"""Charts as inline SVG, drawn on the server: no script, no outside source, printable.

Each chart carries its title for screen readers and the page prints the same figures as a table
beside it (WCAG 1.1.1: a text alternative for a picture of numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 220, 44, 40, 16


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str


@dataclass(frozen=True)
class Chart:
    title: str
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[float, str], ...]  # the value axis: (y, label)
    width: int = WIDTH
    height: int = HEIGHT
    horizontal: bool = False


def _nice_top(value: float) -> float:
    """A round top for the axis (1, 2, 5 × a power of ten) above the largest value."""
    if value <= 0:
        return 1
    scale = 10 ** (len(str(int(value))) - 1)
    return next(step * scale for step in (1, 2, 5, 10) if step * scale >= value)


def bars(points: list[tuple[str, int]], title: str) -> Chart:
    """Upright bars for counts over time (weeks)."""
    top = _nice_top(max((v for _, v in points), default=0))
    inner_w, inner_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    step = inner_w / max(len(points), 1)
    drawn = []
    for i, (label, value) in enumerate(points):
        height = inner_h * value / top
        drawn.append(Bar(LEFT + i * step + step * 0.15, TOP + inner_h - height, step * 0.7, height, label,
                         f"{value:,}".replace(",", ".")))
    # Whole numbers on the axis: 0, half and the top (just 0 and the top when half is not whole).
    parts = (0, 0.5, 1) if top % 2 == 0 else (0, 1)
    ticks = tuple((TOP + inner_h - inner_h * f, f"{int(top * f):,}".replace(",", ".")) for f in parts)
    return Chart(title, tuple(drawn), ticks)


def share_bars(points: list[tuple[str, float | None]], title: str) -> Chart:
    """Horizontal bars of shares (0 to 1), one per detail, with the label on the left."""
    row, label_w, width = 26, 250, WIDTH
    drawn = []
    for i, (label, share) in enumerate(points):
        value = share or 0.0
        drawn.append(Bar(label_w, TOP + i * row, (width - label_w - 60) * value, row * 0.7, label,
                         f"{value * 100:.0f}%" if share is not None else "—"))
    return Chart(title, tuple(drawn), (), width, TOP * 2 + row * len(points), horizontal=True)
