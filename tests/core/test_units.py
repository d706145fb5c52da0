"""Each budget dimension has its unit, and amounts are written with it."""

from __future__ import annotations

from decimal import Decimal

from costwarden.core.units import Unit, amount, spell, unit_of


def test_units_of_dimensions() -> None:
    assert unit_of("cost") is Unit.USD
    assert unit_of("tokens") is Unit.TOKENS
    assert unit_of("requests") is Unit.REQUESTS
    assert unit_of("concurrent") is Unit.CONCURRENT_CALLS
    assert unit_of("concurrent", "runs") is Unit.CONCURRENT_RUNS
    assert [u.value for u in Unit] == [
        "cost_usd",
        "tokens",
        "requests",
        "concurrent_calls",
        "concurrent_runs",
    ]


def test_amounts_and_spelling() -> None:
    assert amount(Unit.USD, 125_000_000_000) == Decimal("12.5")
    assert amount(Unit.REQUESTS, 7) == Decimal(7)
    assert spell(Unit.USD, Decimal("12.5")) == "$12.50"
    assert spell(Unit.REQUESTS, 10) == "10 requests"
    assert spell(Unit.REQUESTS, 1) == "1 request"
    assert spell(Unit.TOKENS, 1_234_567) == "1,234,567 tokens"
    assert spell(Unit.TOKENS, Decimal(1_234_567), short=True) == "1.2M tokens"
    assert spell(Unit.CONCURRENT_RUNS, 2) == "2 concurrent runs"
    assert spell(Unit.CONCURRENT_CALLS, 1) == "1 concurrent call"
