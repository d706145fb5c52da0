"""Query parameters every read shares: the period (`period`, or `start`/`end`), filters (`project`,
`agent`, `model`, `provider`, `task`, `run`, `session`, `user`, `tag=NAME:VALUE`, any `where=FIELD=VALUE`),
and `format` (json or csv), parsed into the views' own types; bad values name their parameter (400)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Query

from costwarden.storage.ledger import WhereValue
from costwarden.views.errors import QueryError
from costwarden.views.filters import parse_where
from costwarden.views.periods import PeriodFlags

__all__ = ["ReadQuery", "read_query", "Format", "PERIODS"]

PERIODS: dict[str, str] = {
    "today": "today",
    "day": "today",
    "yesterday": "yesterday",
    "this-week": "this-week",
    "week": "this-week",
    "this-month": "this-month",
    "month": "this-month",
    "last-30-days": "last-30-days",
}
"""Period names (and seed 001's `day`, `week`, `month`) -> the named period."""

_FLAGS = {
    "today": PeriodFlags(today=True),
    "yesterday": PeriodFlags(yesterday=True),
    "this-week": PeriodFlags(this_week=True),
    "this-month": PeriodFlags(this_month=True),
    "last-30-days": PeriodFlags(last_30_days=True),
}


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"


@dataclass(frozen=True, slots=True)
class ReadQuery:
    period: PeriodFlags
    where: dict[str, WhereValue]
    all_time: bool = False


Many = Annotated[list[str] | None, Query()]


def read_query(
    period: Annotated[
        str | None,
        Query(description="today, yesterday, this-week, this-month, last-30-days (also day, week, month)."),
    ] = None,
    start: Annotated[
        str | None, Query(description="From this ISO date or datetime (instead of `period`).")
    ] = None,
    end: Annotated[str | None, Query(description="Up to this date (the whole day) or datetime.")] = None,
    project: Many = None,
    agent: Many = None,
    model: Many = None,
    provider: Many = None,
    task: Many = None,
    run: Many = None,
    session: Many = None,
    user: Many = None,
    tag: Annotated[list[str] | None, Query(description="NAME:VALUE (repeatable).")] = None,
    where: Annotated[
        list[str] | None, Query(description="FIELD=VALUE on any filter field (repeatable).")
    ] = None,
) -> ReadQuery:
    """The period and filters of a read (a value repeated on one field: either value)."""
    flags = PeriodFlags(start=start, end=end)
    all_time = False
    if period is not None:
        if start is not None or end is not None:
            raise QueryError("give `period` or `start`/`end`, not both", "period")
        if period == "all":
            all_time = True
        elif period in PERIODS:
            flags = _FLAGS[PERIODS[period]]
        else:
            choices = ", ".join(PERIODS)
            raise QueryError(f"unknown period {period!r}; choose {choices}", "period")
    items: list[str] = []
    for name, values in (
        ("project", project),
        ("agent", agent),
        ("model", model),
        ("provider", provider),
        ("task", task),
        ("run", run),
        ("session", session),
        ("user", user),
    ):
        items += [f"{name}={value}" for value in values or ()]
    for item in tag or ():
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise QueryError(f"expected NAME:VALUE, got {item!r}", "tag")
        items.append(f"tag:{name.strip()}={value}")
    filters = parse_where(items, None, option="where")
    filters.update(parse_where(where, None, option="where"))
    return ReadQuery(flags, filters, all_time)
