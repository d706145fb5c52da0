"""Utilization alerts: "the floor matters more than the ceiling". Pure: plans' usage in, alerts out.

The `utilization_alerts:` config section (every number a percent):

    utilization_alerts:
      floor_percent: 50            # a plan projected under this at mid-cycle
      mid_cycle_percent: 50        # ... once this much of its billing period has passed
      near_exhaustion_percent: 5   # a window with less than this left
      fleet_floor_percent: 70      # all paid plans together projected under this at cycle end

A plan's utilization is the highest of its windows' use projected to their reset (their current use when
no projection exists: a rolling window counted from the ledger); a plan whose windows are all unknown is
measured by the value of its usage at API prices against its price, projected over the billing period.
The money at stake is the plan's price times the share projected unused: "$200 plan, 31% used, ~$138 of
it unused at this pace". The fleet's utilization is the price-weighted mean over the paid plans past
mid-cycle (a plan counts at most 100 %). Plans without a billing period (prepaid credits) have no cycle.

Each alert is recorded once (as budget threshold alerts are): per plan and billing period for the floor,
per window and reset for near exhaustion, per month for the fleet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from costwarden.core.money import format_usd
from costwarden.quotas.usage import PlanUsage
from costwarden.storage.budgets import AlertRecord

__all__ = ["UtilizationAlertsConfig", "Finding", "plan_utilization", "utilization_findings", "as_alert"]

_HUNDRED = Decimal(100)


class UtilizationAlertsConfig(BaseModel):
    """The `utilization_alerts:` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    floor_percent: Decimal = Field(default=Decimal(50), ge=0, le=100)
    mid_cycle_percent: Decimal = Field(default=Decimal(50), ge=0, le=100)
    near_exhaustion_percent: Decimal = Field(default=Decimal(5), ge=0, le=100)
    fleet_floor_percent: Decimal = Field(default=Decimal(70), ge=0, le=100)


@dataclass(frozen=True, slots=True)
class Finding:
    """One alert condition met: `kind` is `under_floor`, `near_exhaustion` or `fleet_under_floor`."""

    kind: str
    key: str
    """What it is about: `provider/account` (a window: `provider/account/window`), or `fleet`."""
    period_key: str
    """Which cycle (or window instance) it belongs to: the alert is recorded once per key and period."""
    level: str
    message: str
    percent: Decimal
    at_stake_usd: Decimal = Decimal(0)


def _pct(value: Decimal) -> str:
    return f"{value.quantize(Decimal(1))}%"


def plan_utilization(plan: PlanUsage) -> tuple[Decimal | None, Decimal | None]:
    """(current, projected) utilization of a plan in percent (None: unknown)."""
    current = [w.percent for w in plan.windows if w.percent is not None]
    projected = [w.projected_percent if w.projected_percent is not None else w.percent for w in plan.windows]
    known = [p for p in projected if p is not None]
    if known:
        return max(current), max(known)
    price = plan.plan.price_usd
    if not price or plan.billing_start is None or plan.billing_end is None:
        return None, None
    value = plan.value_usd / price * _HUNDRED
    elapsed = (plan.at - plan.billing_start).total_seconds()
    length = (plan.billing_end - plan.billing_start).total_seconds()
    if elapsed <= 0:
        return value, None
    return value, value * Decimal(repr(length / elapsed))


def _cycle_share(plan: PlanUsage) -> Decimal | None:
    if plan.billing_start is None or plan.billing_end is None:
        return None
    length = (plan.billing_end - plan.billing_start).total_seconds()
    return Decimal(repr((plan.at - plan.billing_start).total_seconds() / length)) * _HUNDRED


def _unused(price: Decimal | None, projected: Decimal) -> Decimal:
    if not price:
        return Decimal(0)
    return (price * (_HUNDRED - min(projected, _HUNDRED)) / _HUNDRED).quantize(Decimal(1))


def utilization_findings(
    plans: list[PlanUsage], config: UtilizationAlertsConfig, at: datetime
) -> list[Finding]:
    """The alert conditions met by `plans` at `at`."""
    if not config.enabled:
        return []
    out: list[Finding] = []
    weighted = Decimal(0)
    paid = Decimal(0)
    for plan in plans:
        conf = plan.plan
        who = conf.key
        price = conf.price_usd
        for window in plan.windows:
            if window.percent is None or window.percent < _HUNDRED - config.near_exhaustion_percent:
                continue
            left = max(Decimal(0), _HUNDRED - window.percent)
            name = window.window.name
            instance = (window.reset_at or window.start or at).isoformat()
            out.append(
                Finding(
                    "near_exhaustion",
                    f"{who}/{window.window.name}",
                    instance,
                    "warning",
                    f"{conf.label}: {name} window {_pct(window.percent)} used, {_pct(left)} left"
                    + (f" until {window.reset_at:%Y-%m-%d %H:%M} UTC" if window.reset_at else "")
                    + "; shift load elsewhere",
                    window.percent,
                )
            )
        current, projected = plan_utilization(plan)
        if projected is None or current is None:
            continue
        share = _cycle_share(plan)
        if share is None or share < config.mid_cycle_percent:
            continue  # too early in the cycle to call it
        if price:
            weighted += price * min(projected, _HUNDRED)
            paid += price
        if projected >= config.floor_percent:
            continue
        at_stake = _unused(price, projected)
        money = f"{format_usd(price, 0)} plan, " if price else ""
        unused = f", ~{format_usd(at_stake, 0)} of it unused at this pace" if price else ""
        out.append(
            Finding(
                "under_floor",
                who,
                (plan.billing_start or at).isoformat(),
                "warning",
                f"{conf.label}: {money}{_pct(current)} used, {_pct(projected)} projected by the end of the "
                f"cycle (floor {_pct(config.floor_percent)}){unused}; route more work there",
                projected,
                at_stake,
            )
        )
    if paid:
        fleet = weighted / paid
        if fleet < config.fleet_floor_percent:
            at_stake = (paid * (_HUNDRED - fleet) / _HUNDRED).quantize(Decimal(1))
            out.append(
                Finding(
                    "fleet_under_floor",
                    "fleet",
                    f"{at:%Y-%m}",
                    "warning",
                    f"Paid plans together projected at {_pct(fleet)} of what they allow (floor "
                    f"{_pct(config.fleet_floor_percent)}): ~{format_usd(at_stake, 0)} of "
                    f"{format_usd(paid, 0)} unused at this pace",
                    fleet,
                    at_stake,
                )
            )
    return out


def as_alert(finding: Finding, at: datetime) -> AlertRecord:
    """The alert-feed entry of a finding, recorded once per key, period and kind (a threshold alert)."""
    return AlertRecord(
        kind="threshold",
        at=at,
        budget_id=f"quota:{finding.key}",
        scope=finding.key,
        period_key=finding.period_key,
        dimension="utilization",
        level=finding.level,
        message=finding.message,
        threshold=finding.kind,
        details={
            "unit": "percent",
            "quota_alert": finding.kind,
            "percent": str(finding.percent.quantize(Decimal("0.1"))),
            "at_stake_usd": str(finding.at_stake_usd),
        },
    )
