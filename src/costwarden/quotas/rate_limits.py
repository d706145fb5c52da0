"""Rate limits as limits: the `rate_limits:` config section, enforced at admission by the budget engine.

    rate_limits:
      - provider: openai
        account: team              # optional: only calls tagged account=team
        model: gpt-5               # optional: only this model
        requests_per_minute: 500
        tokens_per_minute: 200000  # input estimate + max_tokens at admission, real tokens once settled
        requests_per_day: 10000
        max_concurrent: 8
        windows:                   # any other window: {requests | tokens: N, per: DURATION}
          - {requests: 20, per: 10s}
        action: wait               # wait (until the window frees, up to max_wait) | fallback | refuse
        max_wait: 30s
        fallback: [anthropic/claude-haiku-4-5]   # routes for action: fallback (default: the chain)

Each limit becomes a budget of the engine (`rate_limit_budgets`), so it is enforced exactly as budgets are:
reserved all or nothing with the call's other budgets, in one transaction of the counter store, across
processes and hosts on SQLite, PostgreSQL and Redis. A `per` window is a rolling window (`rolling: 1m` for
a minute, `rolling: 1d` for a day): its counters are kept in buckets of 1/30 of the window (at least one
second) and admission counts every bucket the window touches, so no window of that length ever admits more
than the limit. The budgets are named `rate:<provider>[/<account>][/<model>]:<what>` (shown by
`costwarden budget status`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from costwarden.core.config_fields import Section
from costwarden.core.limits import MAX_BUDGET_COUNT
from costwarden.core.periods import format_duration
from costwarden.core.policy import Action, BudgetConfig, Seconds

__all__ = ["RateWindow", "RateLimitConfig", "rate_limit_budgets"]

_ACTIONS = {"wait": Action.QUEUE, "fallback": Action.FALLBACK, "refuse": Action.BLOCK}


class RateWindow(Section):
    """One window: a number of requests or tokens per duration."""

    requests: int | None = Field(default=None, ge=1, le=MAX_BUDGET_COUNT)
    tokens: int | None = Field(default=None, ge=1, le=MAX_BUDGET_COUNT)
    per: Seconds

    @model_validator(mode="after")
    def _one(self) -> RateWindow:
        if (self.requests is None) == (self.tokens is None):
            raise ValueError("give either `requests` or `tokens` per window")
        return self


class RateLimitConfig(Section):
    """The rate limits of one provider (or account, or model): an item of `rate_limits:`."""

    provider: str = Field(min_length=1, max_length=255)
    account: str | None = Field(default=None, min_length=1, max_length=255)
    model: str | None = Field(default=None, min_length=1, max_length=255)
    requests_per_minute: int | None = Field(default=None, ge=1, le=MAX_BUDGET_COUNT)
    tokens_per_minute: int | None = Field(default=None, ge=1, le=MAX_BUDGET_COUNT)
    requests_per_day: int | None = Field(default=None, ge=1, le=MAX_BUDGET_COUNT)
    tokens_per_day: int | None = Field(default=None, ge=1, le=MAX_BUDGET_COUNT)
    max_concurrent: int | None = Field(default=None, ge=1, le=MAX_BUDGET_COUNT)
    windows: list[RateWindow] = Field(default_factory=list)
    action: Literal["wait", "fallback", "refuse"] = "wait"
    max_wait: Seconds = 60.0
    fallback: list[str] = Field(default_factory=list)

    @field_validator("fallback", mode="before")
    @classmethod
    def _routes(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> RateLimitConfig:
        if not self.windows and all(
            v is None
            for v in (
                self.requests_per_minute,
                self.tokens_per_minute,
                self.requests_per_day,
                self.tokens_per_day,
                self.max_concurrent,
            )
        ):
            raise ValueError(
                "a rate limit needs requests_per_minute, tokens_per_minute, requests_per_day, "
                "tokens_per_day, max_concurrent or windows"
            )
        if self.fallback and self.action != "fallback":
            raise ValueError("`fallback` is only used with action: fallback")
        return self

    @property
    def key(self) -> str:
        """`openai`, `openai/team`, `openai/team/gpt-5`, `openai//gpt-5` (no account)."""
        parts = [self.provider]
        if self.account is not None or self.model is not None:
            parts.append(self.account or "")
        if self.model is not None:
            parts.append(self.model)
        return "/".join(parts)

    def all_windows(self) -> list[tuple[str, RateWindow]]:
        """Every window with its short name (`rpm`, `tpm`, `rpd`, `tpd`, `requests-10s`)."""
        out: list[tuple[str, RateWindow]] = []
        named = (
            ("rpm", self.requests_per_minute, "requests", 60.0),
            ("tpm", self.tokens_per_minute, "tokens", 60.0),
            ("rpd", self.requests_per_day, "requests", 86400.0),
            ("tpd", self.tokens_per_day, "tokens", 86400.0),
        )
        for name, value, what, per in named:
            if value is not None:
                out.append((name, RateWindow.model_validate({what: value, "per": per})))
        for window in self.windows:
            what = "requests" if window.requests is not None else "tokens"
            out.append((f"{what}-{format_duration(window.per)}", window))
        return out


def _where(limit: RateLimitConfig) -> dict[str, list[str]]:
    where: dict[str, list[str]] = {}
    if limit.model is not None:
        where["model"] = [limit.model]
    if limit.account is not None:
        where["tag:account"] = [limit.account]
    return where


def rate_limit_budgets(limits: list[RateLimitConfig]) -> list[BudgetConfig]:
    """The budgets that enforce `limits` (one per window, one for `max_concurrent`)."""
    out: list[BudgetConfig] = []
    for limit in limits:
        common: dict[str, Any] = {
            "scope": "provider",
            "value": limit.provider,
            "where": _where(limit),
            "action": _ACTIONS[limit.action],
            "queue_timeout": limit.max_wait,
            "fallback": limit.fallback,
            "thresholds": [],
        }
        for name, window in limit.all_windows():
            amount = (
                {"requests": window.requests} if window.requests is not None else {"tokens": window.tokens}
            )
            per = format_duration(window.per)
            out.append(
                BudgetConfig.model_validate(
                    {
                        "id": f"rate:{limit.key}:{name}",
                        "name": f"Rate limit {limit.key} {name}",
                        "period": f"rolling: {per}",
                        **amount,
                        **common,
                    }
                )
            )
        if limit.max_concurrent is not None:
            out.append(
                BudgetConfig.model_validate(
                    {
                        "id": f"rate:{limit.key}:concurrent",
                        "name": f"Rate limit {limit.key} concurrent",
                        "period": "total",
                        "max_concurrent": limit.max_concurrent,
                        **common,
                        # a full concurrency budget queues its calls; `refuse` gives them no time to wait
                        **({"queue_timeout": 0.001} if limit.action == "refuse" else {}),
                    }
                )
            )
    return out
