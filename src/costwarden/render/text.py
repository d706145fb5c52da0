"""Reports for people: Rich renderables that degrade to plain text when the output is not a terminal.
(`usd`, `tokens` and `percent` are the plain formatters of `costwarden.reports.formats`.)

Layout follows seed 004's "Basic Report": a summary, cost by project and by model, budget status and the
top sessions; `detailed=True` adds token slices, calls and errors, and the agent and provider sections.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from costwarden.core.units import spell
from costwarden.reports.agent_runs import AgentRuns
from costwarden.reports.aggregate import TIME_KEYS
from costwarden.reports.formats import percent, tokens, usd
from costwarden.reports.model import BudgetLine, Report, share
from costwarden.storage.ledger import Totals
from costwarden.storage.totals import sum_totals

__all__ = [
    "RULE",
    "tokens",
    "usd",
    "percent",
    "heading",
    "summary_table",
    "group_table",
    "budget_table",
    "sessions_table",
    "report_renderable",
    "runs_table",
    "summary_text",
    "print_report",
    "print_wide",
]

RULE = "━" * 60


def heading(text: str) -> Text:
    return Text(text, style="bold")


def _label(value: str | None) -> str:
    """A group value as a table cell: names are data, never markup (`[project=web]` stays as written)."""
    return "(none)" if value is None else escape(value)


def summary_table(report: Report, detailed: bool = False) -> Table:
    t = report.totals
    table = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 2))
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("Total Cost:", usd(t.cost))
    table.add_row("Total Tokens:", f"{t.total_tokens:,}")
    table.add_row("Calls:", f"{t.events:,}")
    table.add_row("Sessions:", f"{report.sessions:,}")
    table.add_row("Agent runs:", f"{report.runs:,}")
    table.add_row("Average per session:", usd(report.average_per_session))
    if t.error_events or detailed:
        table.add_row("Failed calls:", f"{t.error_events:,}")
    if t.unpriced_events or detailed:
        note = f"{t.unpriced_events:,} calls" + (
            f" ({usd(t.unpriced_cost)} at the fallback price, included above)" if t.unpriced_events else ""
        )
        table.add_row("Unpriced:", note)
    if detailed:
        table.add_row("Input tokens:", f"{t.input_tokens:,}")
        table.add_row("Cache reads:", f"{t.cache_read_tokens:,}")
        table.add_row("Cache writes:", f"{t.cache_write_tokens + t.cache_write_1h_tokens:,}")
        table.add_row("Output tokens:", f"{t.output_tokens:,}")
        table.add_row("Reasoning tokens:", f"{t.reasoning_tokens:,}")
    return table


def group_table(rows: Sequence[Totals], keys: Sequence[str], whole: Decimal, detailed: bool = False) -> Table:
    """Rows grouped by `keys`; with several keys the outer groups get a subtotal line."""
    table = Table(box=None, pad_edge=False, padding=(0, 2, 0, 2), show_header=True, header_style="bold")
    for key in keys:
        table.add_column(key.upper() if key in TIME_KEYS else key)
    table.add_column("cost", justify="right")
    table.add_column("share", justify="right")
    table.add_column("tokens", justify="right")
    table.add_column("calls", justify="right")
    if detailed:
        for name in ("input", "cache read", "cache write", "output", "errors", "unpriced"):
            table.add_column(name, justify="right")

    def cells(row: Totals) -> list[str]:
        out = [usd(row.cost), f"{share(row.cost, whole)}%", tokens(row.total_tokens), f"{row.events:,}"]
        if detailed:
            out += [
                f"{row.input_tokens:,}",
                f"{row.cache_read_tokens:,}",
                f"{row.cache_write_tokens + row.cache_write_1h_tokens:,}",
                f"{row.output_tokens:,}",
                f"{row.error_events:,}",
                f"{row.unpriced_events:,}" + (f" ({usd(row.unpriced_cost)})" if row.unpriced_events else ""),
            ]
        return out

    if len(keys) <= 1:
        for row in rows:
            table.add_row(*(_label(v) for v in row.key), *cells(row))
        return table
    ordered = nest(rows, keys)
    previous: tuple[str | None, ...] | None = None
    for row in ordered:
        outer = row.key[:1]
        if previous is None or previous[:1] != outer:
            subtotal = sum_totals([r for r in rows if r.key[:1] == outer], outer)
            table.add_row(_label(outer[0]), *([""] * (len(keys) - 1)), *cells(subtotal), style="bold")
        shown = ["", *(_label(v) for v in row.key[1:])]
        table.add_row(*shown, *cells(row))
        previous = row.key
    return table


def nest(rows: Sequence[Totals], keys: Sequence[str]) -> list[Totals]:
    """Rows ordered as a tree: outer groups by subtotal (or in time order for time keys), then inner."""
    subtotal: dict[tuple[str | None, ...], Decimal] = {}
    for row in rows:
        for depth in range(1, len(keys) + 1):
            prefix = row.key[:depth]
            subtotal[prefix] = subtotal.get(prefix, Decimal(0)) + row.cost

    def order(row: Totals) -> tuple[tuple[int, str, Decimal, str], ...]:
        parts = []
        for depth, key in enumerate(keys):
            value = row.key[depth]
            if key in TIME_KEYS:
                parts.append((0, value or "", Decimal(0), ""))
            else:
                parts.append((1 if value is None else 0, "", -subtotal[row.key[: depth + 1]], value or ""))
        return tuple(parts)

    return sorted(rows, key=order)


def budget_table(budgets: Sequence[BudgetLine]) -> Table:
    """One row per limit, each figure in its own unit (`$50.00`, `10 requests`, `2 concurrent runs`)."""
    table = Table(box=None, pad_edge=False, padding=(0, 2, 0, 2), show_header=True, header_style="bold")
    for name, justify in (
        ("budget", "left"),
        ("period", "left"),
        ("limit", "right"),
        ("used", "right"),
        ("remaining", "right"),
        ("resets", "left"),
        ("projected", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for b in budgets:
        unit = b.unit
        limit = spell(unit, b.limit, short=True)
        used = f"{spell(unit, b.used, short=True)} ({percent(b.percent_used)})"
        remaining = f"{spell(unit, b.remaining, short=True)} ({percent(b.percent_remaining)})"
        resets = "-" if b.resets_at is None else b.resets_at.strftime("%Y-%m-%d %H:%M")
        if b.days_left is not None:
            resets += f" ({b.days_left} d left)"
        projected = "-"
        if b.projected is not None:
            projected = spell(unit, b.projected, short=True)
            projected += " (over budget)" if b.projected > b.limit else " (within budget)"
        table.add_row(escape(b.name), b.period, limit, used, remaining, resets, projected)
    return table


def sessions_table(report: Report) -> Table:
    table = Table(box=None, pad_edge=False, padding=(0, 2, 0, 2), show_header=False)
    table.add_column(justify="right")
    table.add_column()
    table.add_column(justify="right")
    table.add_column(justify="right")
    table.add_column()
    for i, line in enumerate(report.top_sessions, 1):
        table.add_row(
            f"{i}.",
            escape(line.session),
            usd(line.totals.cost),
            f"{tokens(line.totals.total_tokens)} tokens",
            _label(line.project),
        )
    return table


def runs_table(runs: Sequence[AgentRuns]) -> Table:
    """Runs per agent: how many, average tokens and cost per run (seed 001's usage by agent)."""
    table = Table(box=None, pad_edge=False, padding=(0, 2, 0, 2), show_header=True, header_style="bold")
    table.add_column("agent")
    for name in ("runs", "avg tokens/run", "cost/run"):
        table.add_column(name, justify="right")
    for line in runs:
        table.add_row(
            _label(line.agent),
            f"{line.runs:,}",
            tokens(int(line.average_tokens_per_run)),
            usd(line.cost_per_run),
        )
    return table


def report_renderable(
    report: Report,
    detailed: bool = False,
    extra: Sequence[tuple[str, Sequence[str], Sequence[Totals]]] = (),
    runs: Sequence[AgentRuns] = (),
) -> RenderableType:
    """The whole report. `extra` adds sections `(title, keys, rows)` (e.g. by agent with `--detailed`);
    `runs` the runs per agent."""
    whole = report.totals.cost
    parts: list[RenderableType] = [
        heading(
            f"Cost Report - {report.period.label}"
            + (f" ({report.period.timezone})" if report.period.timezone != "UTC" else "")
        ),
        Text(RULE),
        heading("SUMMARY"),
        summary_table(report, detailed),
    ]
    if report.group_by:
        title = "BY " + " / ".join(k.upper() for k in report.group_by)
        parts += [Text(""), heading(title), group_table(report.groups, report.group_by, whole, detailed)]
    else:
        parts += [
            Text(""),
            heading("BY PROJECT"),
            group_table(report.by_project, ("project",), whole, detailed),
        ]
        model_rows = [replace(r, key=(f"{r.key[1]} ({r.key[0]})",)) for r in report.by_model]
        parts += [Text(""), heading("BY MODEL"), group_table(model_rows, ("model",), whole, detailed)]
    for title, keys, rows in extra:
        parts += [Text(""), heading(title), group_table(rows, keys, whole, detailed)]
    if runs:
        parts += [Text(""), heading("RUNS BY AGENT"), runs_table(runs)]
    if report.budgets:
        parts += [Text(""), heading("BUDGET STATUS"), budget_table(report.budgets)]
    if report.top_sessions:
        parts += [Text(""), heading("TOP SESSIONS"), sessions_table(report)]
    if report.totals.unpriced_events:
        parts += [
            Text(""),
            Text(
                f"Note: {report.totals.unpriced_events} call(s) used models without a known price; they are "
                f"counted at the fallback price ({usd(report.totals.unpriced_cost)}). "
                "See `costwarden prices`.",
                style="yellow",
            ),
        ]
    return Group(*parts)


def summary_text(report: Report) -> str:
    """`--format summary`: just the totals, one `name: value` per line."""
    t = report.totals
    lines = [
        f"Period: {report.period.label}",
        f"Total cost: {usd(t.cost)}",
        f"Total tokens: {t.total_tokens:,}",
        f"Calls: {t.events:,}",
        f"Sessions: {report.sessions:,}",
        f"Failed calls: {t.error_events:,}",
        f"Unpriced calls: {t.unpriced_events:,} ({usd(t.unpriced_cost)})",
    ]
    return "\n".join(lines)


def print_wide(console: Console, renderable: RenderableType) -> None:
    """Print without squeezing tables when the output is not a terminal (a pipe or a file has no width)."""
    if console.is_terminal:
        console.print(renderable)
        return
    needed = Measurement.get(console, console.options.update_width(10_000), renderable).maximum
    width = console.width
    console.width = max(width, needed)
    try:
        console.print(renderable)
    finally:
        console.width = width


def print_report(console: Console, report: Report, detailed: bool = False) -> None:
    print_wide(console, report_renderable(report, detailed))
