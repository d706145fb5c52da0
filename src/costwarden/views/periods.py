"""The period of a read question: `today`, `this-month`, ... or an explicit `--from`/`--to`, resolved in the
configured timezone at the reader's "now" (`costwarden.reports.periods` cuts the calendar ranges)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from costwarden.clock import clock_from_env
from costwarden.core.limits import date_in_range, date_range_message
from costwarden.reports.periods import Period, between, named_period
from costwarden.views.errors import QueryError

__all__ = ["PeriodFlags", "NO_PERIOD", "resolve_period", "parse_when", "is_date"]


def is_date(value: str) -> bool:
    """Whether `value` is an ISO-8601 calendar date without a time (2026-11-23, 20261123, 2026-W48-1)."""
    try:
        date.fromisoformat(value.strip())
    except ValueError:
        return False
    return True


def parse_when(value: str, option: str, tz: ZoneInfo | None = None) -> datetime:
    """An ISO-8601 date or datetime as an aware UTC instant; without an offset it is read in `tz` (default
    UTC). A malformed value, or a date outside 2000-01-01 .. 2099-12-31 (`costwarden.core.limits`), is a
    `QueryError` naming `option`."""
    zone = tz or ZoneInfo("UTC")
    text = value.strip()
    try:
        if is_date(text):
            parsed = datetime.combine(date.fromisoformat(text), time(0), tzinfo=zone)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=zone)
    except ValueError:
        raise QueryError(
            f"expected an ISO-8601 date or datetime (2026-11-23 or 2026-11-23T14:05:00+01:00), got {value!r}",
            option,
        ) from None
    try:
        at = parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01 with a positive offset
        at = None
    if at is None or not date_in_range(at):
        raise QueryError(date_range_message(parsed), option)
    return at


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
    """The one period the flags name (or `default`) at `at`; two periods at once is a `QueryError`. `--to`
    with a date includes that whole day."""
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
        raise QueryError(
            "choose one period: --today, --yesterday, --this-week, --this-month, --last-30-days "
            "or --from/--to"
        )
    moment = at or clock_from_env().now()
    if explicit:
        lo = parse_when(start, "--from", tz) if start is not None else None
        hi = _end_of(end, tz) if end is not None else None
        if lo is not None and hi is not None and hi <= lo:
            raise QueryError("--to must be after --from", "--to")
        return between(lo, hi, tz)
    return named_period(chosen[0] if chosen else default, moment, tz)


@dataclass(frozen=True, slots=True)
class PeriodFlags:
    """The period a question names, as given: at most one named period or an explicit `start`/`end`
    (ISO dates or datetimes); none given means the question's own default."""

    today: bool = False
    yesterday: bool = False
    this_week: bool = False
    this_month: bool = False
    last_30_days: bool = False
    start: str | None = None
    end: str | None = None

    @property
    def given(self) -> bool:
        """Whether any period was named."""
        return any((self.today, self.yesterday, self.this_week, self.this_month, self.last_30_days)) or (
            self.start is not None or self.end is not None
        )

    def resolve(self, tz: ZoneInfo, default: str = "this-month", at: datetime | None = None) -> Period:
        """The period these flags name at `at`, or `default` without any."""
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
