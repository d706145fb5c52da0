"""Shared parts of the reporting commands: period flags, filters, output formats and the aggregator.

`COSTWARDEN_NOW` (an ISO-8601 datetime with offset) makes "now" fixed, so reports over `--today`,
`--this-month` and forecasts are reproducible in scripts and tests.
"""

from __future__ import annotations

import functools
import inspect
import json
import sys
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from costwarden.cli.options import is_date, parse_when
from costwarden.cli.state import CliState
from costwarden.clock import NOW_ENV, clock_from_env
from costwarden.ledger.base import WhereValue, where_values
from costwarden.reports.aggregate import Aggregator
from costwarden.reports.periods import Period, between, named_period

__all__ = [
    "NOW_ENV",
    "Format",
    "TableJsonCsv",
    "TableJson",
    "TodayOpt",
    "YesterdayOpt",
    "ThisWeekOpt",
    "ThisMonthOpt",
    "Last30Opt",
    "FromOpt",
    "ToOpt",
    "WhereOpt",
    "PeriodFlags",
    "NO_PERIOD",
    "period_options",
    "now",
    "resolve_period",
    "parse_where",
    "aggregator_for",
    "echo_json",
    "choose_format",
]


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    SUMMARY = "summary"


class TableJsonCsv(StrEnum):
    """`--format` of commands without a summary view."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"


class TableJson(StrEnum):
    """`--format` of commands that print a table or JSON."""

    TABLE = "table"
    JSON = "json"


TodayOpt = Annotated[bool, typer.Option("--today", help="Today (local calendar day).")]
YesterdayOpt = Annotated[bool, typer.Option("--yesterday", help="Yesterday.")]
ThisWeekOpt = Annotated[bool, typer.Option("--this-week", help="This week (Monday to Sunday).")]
ThisMonthOpt = Annotated[bool, typer.Option("--this-month", help="This calendar month.")]
Last30Opt = Annotated[bool, typer.Option("--last-30-days", help="The last 30 days, today included.")]
FromOpt = Annotated[
    str | None,
    typer.Option("--from", help="Start: ISO date (local midnight) or datetime with offset; inclusive."),
]
ToOpt = Annotated[
    str | None,
    typer.Option("--to", help="End: ISO date (that whole day is included) or datetime (exclusive)."),
]
WhereOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--where",
        help="Only events with FIELD=VALUE (project, agent, model, tag:NAME, ...); repeatable: one field "
        "repeated matches any of its values, different fields must all match.",
    ),
]


def now() -> datetime:
    """The current time, or `$COSTWARDEN_NOW` when set (see `costwarden.clock`)."""
    return clock_from_env().now()


def _end_of(value: str, tz: ZoneInfo) -> datetime:
    parsed = parse_when(value, "--to", tz)
    if is_date(value):
        local = parsed.astimezone(tz).date() + timedelta(days=1)
        return datetime(local.year, local.month, local.day, tzinfo=tz).astimezone(UTC)
    return parsed


def resolve_period(
    tz: ZoneInfo,
    *,
    today: bool = False,
    yesterday: bool = False,
    this_week: bool = False,
    this_month: bool = False,
    last_30_days: bool = False,
    start: str | None = None,
    end: str | None = None,
    default: str = "this-month",
    at: datetime | None = None,
) -> Period:
    """The one period the flags name (or `default`); two periods at once is a usage error."""
    chosen = [
        name
        for name, flag in (
            ("today", today),
            ("yesterday", yesterday),
            ("this-week", this_week),
            ("this-month", this_month),
            ("last-30-days", last_30_days),
        )
        if flag
    ]
    explicit = start is not None or end is not None
    if len(chosen) + (1 if explicit else 0) > 1:
        raise typer.BadParameter(
            "choose one period: --today, --yesterday, --this-week, --this-month, --last-30-days "
            "or --from/--to"
        )
    moment = at or now()
    if explicit:
        lo = parse_when(start, "--from", tz) if start is not None else None
        hi = _end_of(end, tz) if end is not None else None
        if lo is not None and hi is not None and hi <= lo:
            raise typer.BadParameter("--to must be after --from", param_hint="--to")
        return between(lo, hi, tz)
    return named_period(chosen[0] if chosen else default, moment, tz)


@dataclass(frozen=True, slots=True)
class PeriodFlags:
    """The period flags of one command line, as given (see `period_options`)."""

    today: bool = False
    yesterday: bool = False
    this_week: bool = False
    this_month: bool = False
    last_30_days: bool = False
    start: str | None = None
    end: str | None = None

    @property
    def given(self) -> bool:
        """Whether any period flag was given."""
        return any((self.today, self.yesterday, self.this_week, self.this_month, self.last_30_days)) or (
            self.start is not None or self.end is not None
        )

    def resolve(self, tz: ZoneInfo, default: str = "this-month", at: datetime | None = None) -> Period:
        """The period these flags name, or `default` without any."""
        return resolve_period(
            tz,
            today=self.today,
            yesterday=self.yesterday,
            this_week=self.this_week,
            this_month=self.this_month,
            last_30_days=self.last_30_days,
            start=self.start,
            end=self.end,
            default=default,
            at=at,
        )


NO_PERIOD = PeriodFlags()

_PERIOD_PARAMS: tuple[tuple[str, Any, Any], ...] = (
    ("today", TodayOpt, False),
    ("yesterday", YesterdayOpt, False),
    ("this_week", ThisWeekOpt, False),
    ("this_month", ThisMonthOpt, False),
    ("last_30_days", Last30Opt, False),
    ("start", FromOpt, None),
    ("end", ToOpt, None),
)


def period_options(*, skip: Collection[str] = ()) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command the period flags (`--today` ... `--from`/`--to`, less the `skip`ped field names).

    On the command line they take the place of the command's `period_flags: PeriodFlags = NO_PERIOD` parameter
    (so `--help` lists them there); the command receives them as one `PeriodFlags`.
    """
    names = [name for name, _, _ in _PERIOD_PARAMS if name not in skip]

    def decorate(fn: Callable[..., None]) -> Callable[..., None]:
        signature = inspect.signature(fn, eval_str=True)
        params: list[inspect.Parameter] = []
        for param in signature.parameters.values():
            if param.name != "period_flags":
                params.append(param)
                continue
            params += [
                inspect.Parameter(
                    name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=alias
                )
                for name, alias, default in _PERIOD_PARAMS
                if name in names
            ]
        if len(params) == len(signature.parameters):
            raise TypeError(f"{fn.__name__} has no `period_flags` parameter")

        @functools.wraps(fn)
        def command(*args: Any, **kwargs: Any) -> None:
            flags = PeriodFlags(**{name: kwargs.pop(name) for name in names if name in kwargs})
            fn(*args, period_flags=flags, **kwargs)

        command.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params} | {"return": None}
        return command

    return decorate


def parse_where(
    items: Sequence[str] | None, canonical: Callable[[str, str], tuple[str, str]] | None = None
) -> dict[str, WhereValue]:
    """`--where project=api` items as a filter mapping (`FIELD=` selects events where FIELD is unset).
    Repeated on one field the values are ORed (`project=a --where project=b`: either project); different
    fields are ANDed. With `canonical` (`PriceBook.canonical`), `provider` and `model` values are the
    names events are stored under (`provider=claude` finds `anthropic`, a dated model id its model)."""
    from costwarden.ledger.base import FILTER_FIELDS

    out: dict[str, WhereValue] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise typer.BadParameter(f"expected FIELD=VALUE, got {item!r}", param_hint="--where")
        if name not in FILTER_FIELDS and not (name.startswith("tag:") and len(name) > 4):
            raise typer.BadParameter(
                f"cannot filter by {name!r}; choose one of {', '.join(FILTER_FIELDS)} or tag:NAME",
                param_hint="--where",
            )
        if name in out:
            before = where_values(out[name])
            out[name] = before if (value or None) in before else (*before, value or None)
        else:
            out[name] = value or None
    return canonical_where(out, canonical) if canonical is not None else out


def canonical_where(
    where: dict[str, WhereValue], canonical: Callable[[str, str], tuple[str, str]]
) -> dict[str, WhereValue]:
    """`provider` and `model` filter values in their canonical names; a model is resolved under each
    provider of the filter (or none)."""
    out = dict(where)
    providers = [p for p in where_values(where.get("provider", ())) if p] if "provider" in where else []
    if "provider" in where:
        out["provider"] = _unique(canonical(p, "")[0] if p else p for p in where_values(where["provider"]))
    if "model" in where:
        out["model"] = _unique(
            canonical(p, m)[1] if m else m for m in where_values(where["model"]) for p in providers or [""]
        )
    return out


def _unique(values: Iterable[str | None]) -> WhereValue:
    kept = tuple(dict.fromkeys(values))
    return kept[0] if len(kept) == 1 else kept


def aggregator_for(state: CliState, *, use_rollups: bool = True, pin: bool = True) -> Aggregator:
    """An aggregator over the configured ledger, with its rollups when the ledger keeps them.

    With `pin` (the default) every read of the rest of the command comes from one snapshot of the ledger
    (`Aggregator.snapshot`), so its figures agree with each other while other processes append; a command
    that refreshes (`watch`) passes False and takes a snapshot per refresh."""
    from costwarden.ledger.rollup_store import rollups_of

    ledger = state.warden.ledger
    aggregator = Aggregator(
        ledger=ledger, tz=state.settings.tz, rollups=rollups_of(ledger), use_rollups=use_rollups
    )
    if pin:
        state.hold(aggregator.snapshot())
    return aggregator


def echo_json(data: Any) -> None:
    """Pretty JSON on stdout (never wrapped or colored)."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def choose_format(fmt: StrEnum | None, as_json: bool, allowed: Sequence[Format] = tuple(Format)) -> Format:
    """`--json` is short for `--format json`; both at once must agree. `fmt` is a `Format` or one of its
    subsets (`TableJsonCsv`, `TableJson`), so `--help` lists only what the command offers."""
    fmt = Format(fmt.value) if fmt is not None else None
    if as_json and fmt not in (None, Format.JSON):
        raise typer.BadParameter("--json conflicts with --format", param_hint="--json")
    chosen = Format.JSON if as_json else (fmt or Format.TABLE)
    if chosen not in allowed:
        raise typer.BadParameter(
            f"{chosen.value} is not available here; choose {', '.join(f.value for f in allowed)}",
            param_hint="--format",
        )
    return chosen


def is_terminal() -> bool:
    return sys.stdout.isatty()
