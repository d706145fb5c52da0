"""Machine formats of reports: JSON with a stable, documented schema (docs/reports.md) and plain CSV.

Money is always a decimal string (`"12.5000000001"`, at least two decimals, never an exponent); token
counts are integers; times are ISO-8601 in UTC with a `Z`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from costwarden.core.money import format_usd
from costwarden.core.units import Unit, short_count
from costwarden.reports.model import BudgetLine, Report, share
from costwarden.reports.periods import Period, utc_iso
from costwarden.storage.ledger import Totals

__all__ = [
    "TOTALS_FIELDS",
    "money",
    "usd",
    "tokens",
    "percent",
    "totals_json",
    "period_json",
    "group_json",
    "budget_json",
    "unit_json",
    "rows_csv",
    "records_csv",
    "report_csv",
    "CSV_DEFAULT_GROUPING",
]

TOTALS_FIELDS: tuple[str, ...] = (
    "events",
    "requests",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
    "total_tokens",
    "web_search_requests",
    "error_events",
    "unpriced_events",
    "cost",
    "unpriced_cost",
)
CSV_DEFAULT_GROUPING: tuple[str, ...] = ("project", "provider", "model")


def money(amount: Decimal) -> str:
    """An exact decimal string with at least two decimals: `12.50`, `0.0000031`."""
    text = f"{amount.normalize():f}"
    if "." not in text:
        return f"{text}.00"
    whole, frac = text.split(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def usd(amount: Decimal) -> str:
    """Money for people: `$12.50`, `$0.0031`."""
    return format_usd(amount)


def tokens(count: int) -> str:
    """Short token counts: `950`, `32K`, `8.5K`, `5.5M`, `1.2B`."""
    return short_count(count)


def percent(value: Decimal) -> str:
    return f"{value.normalize():f}%" if value == value.to_integral_value() else f"{value}%"


def totals_json(row: Totals) -> dict[str, Any]:
    """The sums of one row (no key)."""
    out: dict[str, Any] = {}
    for name in TOTALS_FIELDS:
        value = getattr(row, name)
        out[name] = money(value) if isinstance(value, Decimal) else value
    return out


def period_json(period: Period) -> dict[str, Any]:
    return {
        "label": period.label,
        "start": None if period.start.year <= 1970 else utc_iso(period.start),
        "end": None if period.end.year >= 9999 else utc_iso(period.end),
        "timezone": period.timezone,
    }


def group_json(row: Totals, keys: Sequence[str], whole: Decimal | None = None) -> dict[str, Any]:
    """A grouped row: `{"key": {name: value}, ...sums}` (plus `share_percent` of `whole`)."""
    out: dict[str, Any] = {"key": dict(zip(keys, row.key, strict=True))}
    out.update(totals_json(row))
    if whole is not None:
        out["share_percent"] = str(share(row.cost, whole))
    return out


def unit_json(unit: Unit, value: Decimal) -> str | int:
    """A quantity in its unit: money as a decimal string, counts (tokens, requests...) as integers."""
    return money(value) if unit.is_money else int(value)


def budget_json(line: BudgetLine) -> dict[str, Any]:
    """One limit of a budget; `limit`, `used`, `reserved`, `remaining` and `projected` are in `unit`."""
    unit = line.unit
    return {
        "id": line.id,
        "name": line.name,
        "scope": line.scope,
        "scope_value": line.scope_value,
        "period": line.period,
        "action": line.action,
        "unit": unit.value,
        "limit": unit_json(unit, line.limit),
        "used": unit_json(unit, line.used),
        "reserved": unit_json(unit, line.reserved),
        "remaining": unit_json(unit, line.remaining),
        "percent_used": str(line.percent_used),
        "state": line.state,
        "resets_at": None if line.resets_at is None else utc_iso(line.resets_at),
        "days_left": None if line.days_left is None else str(line.days_left),
        "projected": None if line.projected is None else unit_json(unit, line.projected),
    }


def rows_csv(rows: Iterable[Totals], keys: Sequence[str]) -> str:
    """Plain CSV: one header line, the group columns, then every sum (money as decimal strings)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*keys, *TOTALS_FIELDS])
    for row in rows:
        values = [getattr(row, name) for name in TOTALS_FIELDS]
        writer.writerow(
            [
                *("" if v is None else v for v in row.key),
                *(money(v) if isinstance(v, Decimal) else v for v in values),
            ]
        )
    return buffer.getvalue()


def records_csv(records: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    """JSON records as plain CSV: one header line of `columns`, a nested `{...}` value by its `at` or as
    JSON text, None as an empty cell."""
    import json

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        cells: list[Any] = []
        for name in columns:
            value = record.get(name)
            if isinstance(value, dict | list):
                value = json.dumps(value, ensure_ascii=False, sort_keys=True)
            cells.append("" if value is None else value)
        writer.writerow(cells)
    return buffer.getvalue()


def report_csv(report: Report, extra_rows: Sequence[Totals] | None = None) -> str:
    """The report's groups as CSV; without `--by` the caller passes rows grouped by `CSV_DEFAULT_GROUPING`."""
    if report.group_by:
        return rows_csv(report.groups, report.group_by)
    return rows_csv(extra_rows or [], CSV_DEFAULT_GROUPING)
