from __future__ import annotations

from decimal import Decimal

import pytest

from costwarden.core.money import format_usd, from_units, parse_money, to_units
from costwarden.errors import ValidationError


def test_units_round_trip_exactly() -> None:
    for text in ["0", "0.0000000001", "1.25", "123456.7890123456", "0.0000000625"]:
        amount = Decimal(text)
        assert from_units(to_units(amount)) == amount


def test_rounding_is_half_even_at_one_unit() -> None:
    assert to_units(Decimal("0.00000000005")) == 0
    assert to_units(Decimal("0.00000000015")) == 2
    assert to_units(Decimal("0.000000000151")) == 2


def test_sum_of_units_equals_sum_of_amounts() -> None:
    amounts = [Decimal(i) / Decimal(7919) for i in range(1, 500)]
    units = [to_units(a) for a in amounts]
    assert from_units(sum(units)) == sum((from_units(u) for u in units), Decimal(0))


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1.5", Decimal("1.5")), (2, Decimal(2)), (0.1, Decimal("0.1")), (Decimal("3"), Decimal(3))],
)
def test_parse_money(value: object, expected: Decimal) -> None:
    assert parse_money(value, "limit") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "limit: expected a non-negative amount, got '-1'"),
        ("nan", "limit: expected a finite amount, got 'nan'"),
        (True, "limit: expected an amount in USD, got True"),
        ("ten", "limit: expected an amount in USD, got 'ten'"),
    ],
)
def test_parse_money_refuses(value: object, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_money(value, "limit")
    assert str(info.value) == message


def test_format_usd() -> None:
    assert format_usd(Decimal("127.5")) == "$127.50"
    assert format_usd(Decimal("1234567.125")) == "$1,234,567.12"
    assert format_usd(Decimal("0.0003")) == "$0.0003"
    assert format_usd(Decimal(0)) == "$0.00"
