"""The statusline's figures and how they are printed: one line, or a `--format` template.

Colours follow thresholds: a budget is green below its first alert threshold, yellow from it, red from its
last threshold or once exhausted (default thresholds 50/80/95 %); a rate-limit or subscription window is
green below 50 %, yellow from 50 %, red from 80 %. `--no-color` or a non-empty `NO_COLOR` prints plain text.

The quota segment (`{quota}`) shows Claude Code's own 5-hour and weekly windows when its input carries
them, else the windows of the configured subscription plans whose use is known (`5h 42% · 7d 18%`).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from costwarden.core.money import format_usd
from costwarden.core.units import short_count

__all__ = [
    "BudgetFigure",
    "QuotaFigure",
    "Figures",
    "FIELDS",
    "TemplateError",
    "check_template",
    "render",
    "DEFAULT_LINE",
]

_COLOURS = {"green": "\x1b[32m", "yellow": "\x1b[33m", "red": "\x1b[31m"}
_RESET = "\x1b[0m"
_WINDOW_THRESHOLDS = (Decimal(50), Decimal(80))
_TENTH = Decimal("0.1")
_SEPARATOR = " · "


@dataclass(frozen=True, slots=True)
class BudgetFigure:
    """One limit of one budget in its current window; `used` and `limit` in the limit's unit (USD for
    `cost_usd`, a count for `tokens` and `requests`)."""

    name: str
    unit: str
    used: Decimal
    limit: Decimal
    thresholds: tuple[Decimal, ...]

    @property
    def percent(self) -> Decimal:
        if self.limit == 0:
            return Decimal(100) if self.used else Decimal(0)
        return (self.used * 100 / self.limit).quantize(_TENTH, rounding=ROUND_HALF_EVEN)

    @property
    def colour(self) -> str:
        percent = self.percent
        if self.used >= self.limit:  # no room left
            return "red"
        if self.thresholds and percent >= self.thresholds[-1]:
            return "red"
        if self.thresholds and percent >= self.thresholds[0]:
            return "yellow"
        return "green"

    def amount(self, value: Decimal) -> str:
        return _usd(value) if self.unit == "cost_usd" else short_count(int(value))

    @property
    def text(self) -> str:
        """`Daily: $4.20/$10.00 (42%)`; tokens and requests as counts (`1.2M/2M tokens (60%)`)."""
        suffix = "" if self.unit == "cost_usd" else f" {self.unit}"
        return (
            f"{self.name}: {self.amount(self.used)}/{self.amount(self.limit)}{suffix} ({_pct(self.percent)})"
        )


def tightest(budgets: list[BudgetFigure]) -> BudgetFigure | None:
    """The limit with the least room left (highest percentage used; ties by name)."""
    return min(budgets, key=lambda b: (-b.percent, b.name), default=None)


@dataclass(frozen=True, slots=True)
class QuotaFigure:
    """One window of a subscription plan: its label (`5h`, `7d`, `messages-day`; with several plans,
    prefixed by the plan's account or name) and the percentage used."""

    label: str
    percent: Decimal


@dataclass(frozen=True, slots=True)
class Figures:
    """Everything the line can show."""

    session_cost: Decimal | None
    """The session's cost in the ledger (None without a session)."""
    today_cost: Decimal
    budgets: list[BudgetFigure]
    model: str | None = None
    session_id: str | None = None
    claude_cost: Decimal | None = None
    five_hour: Decimal | None = None
    seven_day: Decimal | None = None
    quotas: tuple[QuotaFigure, ...] = ()
    """The subscription plans' windows whose use is known (config `subscriptions:`)."""

    @property
    def budget(self) -> BudgetFigure | None:
        return tightest(self.budgets)


def _usd(value: Decimal) -> str:
    if 0 < abs(value) < Decimal("0.01"):
        return f"${value.quantize(Decimal('0.0001'), rounding=ROUND_HALF_EVEN)}"
    return format_usd(value)


def _pct(value: Decimal) -> str:
    whole = value.to_integral_value(rounding=ROUND_HALF_EVEN)
    return f"{whole}%"


def _window_colour(percent: Decimal) -> str:
    if percent >= _WINDOW_THRESHOLDS[1]:
        return "red"
    return "yellow" if percent >= _WINDOW_THRESHOLDS[0] else "green"


FIELDS: Mapping[str, str] = {
    "session": "the session's cost in the ledger (`$0.42`; empty without a session)",
    "today": "today's cost, every source (`$3.10`)",
    "budget": "the budget with the least room left: `name: used/limit (percent)`, coloured",
    "budget_name": "that budget's name",
    "budget_used": "what it has used in its window (`$4.20`, or a count)",
    "budget_limit": "its limit",
    "budget_percent": "the percentage used (`42%`), coloured",
    "model": "the model Claude Code shows (`model.display_name`, else `model.id`)",
    "session_id": "the session id",
    "claude_cost": "Claude Code's own estimate of the session cost (`cost.total_cost_usd`)",
    "five_hour": "Claude Code's 5-hour rate-limit window (`5h 24%`), coloured",
    "seven_day": "Claude Code's weekly rate-limit window (`7d 41%`), coloured",
    "quota": "the quota windows: Claude Code's own when it sends them, else the subscription plans' "
    "(`5h 42% · 7d 18%`), each coloured",
}
"""The fields of a `--format` template; an absent figure is an empty string."""

DEFAULT_LINE = "{model} | session {session} | today {today} | {budget} | {quota}"
"""What the line shows without `--format` (separators of empty fields are dropped)."""


class TemplateError(ValueError):
    """A `--format` template that cannot be used; the message names the problem."""


def check_template(template: str) -> list[str]:
    """The field names of `template`, or TemplateError for an unknown field or broken braces."""
    names: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"{exc} (write {{{{ and }}}} for literal braces)") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in FIELDS:
            known = ", ".join(FIELDS)
            raise TemplateError(f"unknown field {{{name}}} (fields: {known})")
        if spec or conversion:
            raise TemplateError(f"field {{{name}}} takes no format spec or conversion")
        names.append(name)
    return names


def _values(figures: Figures, colour: bool) -> dict[str, str]:
    def paint(text: str, name: str) -> str:
        return f"{_COLOURS[name]}{text}{_RESET}" if colour and text else text

    values = dict.fromkeys(FIELDS, "")
    values["today"] = _usd(figures.today_cost)
    if figures.session_cost is not None:
        values["session"] = _usd(figures.session_cost)
    budget = figures.budget
    if budget is not None:
        values["budget"] = paint(budget.text, budget.colour)
        values["budget_name"] = budget.name
        values["budget_used"] = budget.amount(budget.used)
        values["budget_limit"] = budget.amount(budget.limit)
        values["budget_percent"] = paint(_pct(budget.percent), budget.colour)
    values["model"] = figures.model or ""
    values["session_id"] = figures.session_id or ""
    if figures.claude_cost is not None:
        values["claude_cost"] = _usd(figures.claude_cost)
    own: list[QuotaFigure] = []
    for name, label in (("five_hour", "5h"), ("seven_day", "7d")):
        percent: Decimal | None = getattr(figures, name)
        if percent is not None:
            values[name] = paint(f"{label} {_pct(percent)}", _window_colour(percent))
            own.append(QuotaFigure(label, percent))
    windows = own or figures.quotas
    values["quota"] = _SEPARATOR.join(
        paint(f"{w.label} {_pct(w.percent)}", _window_colour(w.percent)) for w in windows
    )
    return values


def render(figures: Figures, template: str | None = None, *, colour: bool = True) -> str:
    """The line: `template` filled in, or the default line with the parts that have no figure left out."""
    values = _values(figures, colour)
    if template is not None:
        check_template(template)
        return template.format_map(values)
    parts = [
        values["model"],
        f"session {values['session']}" if values["session"] else "",
        f"today {values['today']}",
        values["budget"],
        values["quota"],
    ]
    return " | ".join(part for part in parts if part)
