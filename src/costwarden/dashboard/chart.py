"""The cost-over-time chart as SVG, drawn on the server: one bar per day (or hour) stacked by the values of
one field (the most expensive few by name, the rest as `other`), the budget line, and per bar a focusable
column whose tip gives the exact figures."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from costwarden.dashboard.html import esc
from costwarden.reports.formats import money, usd
from costwarden.storage.ledger import Totals

__all__ = ["PALETTE", "OTHER", "Series", "BudgetLine", "stacked_bars", "series_of"]

PALETTE: tuple[str, ...] = (
    "#2f6fdf",
    "#e07b24",
    "#2a9d6f",
    "#b54fb5",
    "#c9a100",
    "#d1495b",
    "#3fa7c4",
    "#7a5c3c",
)
OTHER = "#9aa3ad"
SHOWN = len(PALETTE)
WIDTH, HEIGHT = 960, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 14, 30


@dataclass(frozen=True, slots=True)
class Series:
    """One stacked value (None: spend without that field; `other`: the rest) and its cost per day."""

    name: str
    value: str | None
    color: str
    total: Decimal
    by_day: dict[str, Decimal]
    other: bool = False


@dataclass(frozen=True, slots=True)
class BudgetLine:
    amount: Decimal
    label: str


def series_of(stacks: list[Totals]) -> list[Series]:
    """The stacked series of a trends result's `stacks` rows (key: day, value): the `SHOWN - 1` most
    expensive values by name, the rest summed as `other` (all shown when they fit)."""
    totals: dict[str | None, Decimal] = defaultdict(Decimal)
    days: dict[str | None, dict[str, Decimal]] = defaultdict(dict)
    for row in stacks:
        value = row.key[1]
        totals[value] += row.cost
        days[value][str(row.key[0])] = days[value].get(str(row.key[0]), Decimal(0)) + row.cost
    ranked = sorted(totals, key=lambda v: (-totals[v], v is None, v or ""))
    keep = ranked if len(ranked) <= SHOWN else ranked[: SHOWN - 1]
    out = [
        Series(v if v is not None else "(none)", v, PALETTE[i], totals[v], days[v])
        for i, v in enumerate(keep)
    ]
    rest = ranked[len(keep) :]
    if rest:
        merged: dict[str, Decimal] = defaultdict(Decimal)
        for v in rest:
            for day, cost in days[v].items():
                merged[day] += cost
        out.append(
            Series(
                f"{len(rest)} others", None, OTHER, sum((totals[v] for v in rest), Decimal(0)), merged, True
            )
        )
    return out


def _short(label: str) -> str:
    """An axis label: `11-23` for a day, `14h` for an hour."""
    return f"{label[11:13]}h" if "T" in label else label[5:]


def _nice_top(largest: Decimal) -> Decimal:
    """A round axis maximum at or above `largest`."""
    if largest <= 0:
        return Decimal(1)
    magnitude = Decimal(10) ** (largest.adjusted())
    for step in (1, 2, 2.5, 5, 10):
        top = magnitude * Decimal(str(step))
        if top >= largest:
            return top
    return magnitude * 10


def stacked_bars(days: list[Totals], series: list[Series], budget: BudgetLine | None, *, title: str) -> str:
    """The SVG of the days (`TrendsResult.rows`, every day in order) stacked by `series`."""
    largest = max((d.cost for d in days), default=Decimal(0))
    if budget is not None:
        largest = max(largest, budget.amount)
    top = _nice_top(largest)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(days))
    bar_w = max(1.0, step * 0.72)

    def y(value: Decimal) -> float:
        return TOP + plot_h - float(value / top) * plot_h

    labels: list[str] = []
    parts: list[str] = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="group" aria-label="{esc(title)}" '
        'preserveAspectRatio="none">'
    ]
    for i in range(5):
        value = top * i / 4
        gy = y(value)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}"/>')
        parts.append(
            f'<text class="axis" x="{LEFT - 6}" y="{gy + 4:.1f}" text-anchor="end">{esc(usd(value))}</text>'
        )
    label_every = max(1, round(len(days) / 8))
    for index, day in enumerate(days):
        label = str(day.key[0])
        x0 = LEFT + index * step
        bx = x0 + (step - bar_w) / 2
        base = Decimal(0)
        lines = [f"{label}: {usd(day.cost)} ({day.events:,} calls)"]
        for s in series:
            cost = s.by_day.get(label, Decimal(0))
            if cost <= 0:
                continue
            y_top, y_base = y(base + cost), y(base)
            parts.append(
                f'<rect class="seg" x="{bx:.1f}" y="{y_top:.1f}" width="{bar_w:.1f}" '
                f'height="{max(0.5, y_base - y_top):.1f}" fill="{s.color}"/>'
            )
            base += cost
            lines.append(f"{s.name}: {usd(cost)}")
        if day.unpriced_events:
            lines.append(f"includes {day.unpriced_events:,} unpriced calls at the fallback price")
        tip = "\n".join(lines)
        parts.append(
            f'<rect class="col" x="{x0:.1f}" y="{TOP}" width="{step:.1f}" height="{plot_h}" tabindex="0" '
            f'role="img" aria-label="{esc(tip)}" data-tip="{esc(tip)}" data-day="{esc(label)}" '
            f'data-exact="{money(day.cost)}"/>'
        )
        if index % label_every == 0:
            labels.append(_label("xlab", x0 + step / 2, HEIGHT - BOTTOM + 4, _short(label)))
    if budget is not None:
        by = y(budget.amount)
        parts.append(
            f'<line class="budget" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{by:.1f}" y2="{by:.1f}" '
            f'data-exact="{money(budget.amount)}"/>'
        )
        labels.append(_label("blab", LEFT + 6, by, f"{budget.label} {usd(budget.amount)}"))
    parts.append("</svg>")
    return "".join(parts) + "".join(labels)


def _label(kind: str, x: float, y: float, text: str) -> str:
    """An axis or budget label as HTML over the SVG (which stretches to the width; text must not)."""
    where = f"left:{x * 100 / WIDTH:.2f}%;top:{y * 100 / HEIGHT:.2f}%"
    return f'<span class="{kind}" aria-hidden="true" style="{where}">{esc(text)}</span>'
