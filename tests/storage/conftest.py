"""Fixtures of the ledger tests: priced events without the pricing module."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from costwarden.core.usage import CostBreakdown, CostSource, UsageEvent

T0 = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)

MakeEvent = Callable[..., UsageEvent]


def priced(
    event: UsageEvent,
    cost: str | Decimal = "0.001",
    *,
    source: CostSource = CostSource.COMPUTED,
    slices: dict[str, Decimal] | None = None,
    price_ref: str | None = "test-prices 1",
) -> UsageEvent:
    return event.with_cost(
        CostBreakdown(total=Decimal(cost), source=source, slices=dict(slices or {}), price_ref=price_ref)
    )


@pytest.fixture
def make_event() -> MakeEvent:
    """`make_event(cost="0.001", cost_source=..., slices=..., price_ref=..., **UsageEvent.create kwargs)`.

    Defaults: provider `openai`, model `gpt-4o`, occurred at 2026-11-23 14:05 UTC, 100 input tokens.
    """
    counter = iter(range(1, 10**9))

    def make(
        cost: str | Decimal = "0.001",
        *,
        cost_source: CostSource = CostSource.COMPUTED,
        slices: dict[str, Decimal] | None = None,
        price_ref: str | None = "test-prices 1",
        **fields: Any,
    ) -> UsageEvent:
        fields.setdefault("id", f"ev-{next(counter):06d}")
        fields.setdefault("provider", "openai")
        fields.setdefault("model", "gpt-4o")
        fields.setdefault("occurred_at", T0)
        fields.setdefault("input_tokens", 100)
        return priced(
            UsageEvent.create(**fields), cost, source=cost_source, slices=slices, price_ref=price_ref
        )

    return make
