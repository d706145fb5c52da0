"""Shared parts of the reporting commands: period flags, filters and output formats. The questions
themselves, and the parsing of periods and filters, are `costwarden.views`'; here they become options,
and their errors usage errors.

`COSTWARDEN_NOW` (an ISO-8601 datetime with offset) makes "now" fixed, so reports over `--today`,
`--this-month` and forecasts are reproducible in scripts and tests.
"""

from __future__ import annotations

import functools
import inspect
import json
import sys
from collections.abc import Callable, Collection, Sequence
from enum import StrEnum
from typing import Annotated, Any, ParamSpec

import typer

from costwarden.cli.options import bad_parameter
from costwarden.clock import NOW_ENV
from costwarden.storage.ledger import WhereValue
from costwarden.views import filters
from costwarden.views.errors import QueryError
from costwarden.views.periods import NO_PERIOD, PeriodFlags

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
    "usage_errors",
    "parse_where",
    "echo_json",
    "choose_format",
]

P = ParamSpec("P")


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


def usage_errors(fn: Callable[P, None]) -> Callable[P, None]:
    """A command whose bad question (`QueryError` from `costwarden.views`: a malformed `--where`, two
    periods, an unknown `--by`) is a usage error for the flag it names (exit 2)."""

    @functools.wraps(fn)
    def command(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except QueryError as exc:
            raise bad_parameter(exc) from None

    return command


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
    (so `--help` lists them there); the command receives them as one `PeriodFlags`. A `QueryError` of the
    command is a usage error for the flag it names, as with `usage_errors`.
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
            try:
                fn(*args, period_flags=flags, **kwargs)
            except QueryError as exc:
                raise bad_parameter(exc) from None

        command.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params} | {"return": None}
        return command

    return decorate


def parse_where(
    items: Sequence[str] | None, canonical: Callable[[str, str], tuple[str, str]] | None = None
) -> dict[str, WhereValue]:
    """`--where` items as a filter mapping (`costwarden.views.filters.parse_where`); a malformed item is a
    usage error naming `--where`."""
    try:
        return filters.parse_where(items, canonical)
    except QueryError as exc:
        raise bad_parameter(exc) from None


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
