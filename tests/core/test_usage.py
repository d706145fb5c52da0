from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from costwarden.core.usage import (
    Attribution,
    EventSource,
    EventStatus,
    Usage,
    UsageEvent,
    event_key,
    new_event_id,
)
from costwarden.errors import ValidationError


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "input_tokens: must not be negative, got -1"),
        (True, "input_tokens: expected a whole number of tokens, got the boolean True"),
        (float("nan"), "input_tokens: expected a whole number of tokens, got NaN"),
        (1.5, "input_tokens: expected a whole number of tokens, got 1.5"),
        ("12", "input_tokens: expected a whole number of tokens, got '12'"),
        (None, "input_tokens: expected a whole number of tokens, got None"),
    ],
)
def test_bad_token_counts_are_refused_naming_the_field(value: object, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        Usage(input_tokens=value)  # type: ignore[arg-type]
    assert str(info.value) == message
    assert info.value.field == "input_tokens"


@pytest.mark.parametrize(
    "name",
    [
        "cache_read_tokens",
        "cache_write_tokens",
        "cache_write_1h_tokens",
        "output_tokens",
        "requests",
        "web_search_requests",
    ],
)
def test_every_slice_is_checked(name: str) -> None:
    with pytest.raises(ValidationError) as info:
        Usage(**{name: -3})
    assert info.value.field == name


def test_reasoning_is_part_of_output() -> None:
    with pytest.raises(ValidationError) as info:
        Usage(output_tokens=10, reasoning_tokens=11)
    assert info.value.field == "reasoning_tokens"
    assert Usage(output_tokens=10, reasoning_tokens=10).total_tokens == 10


def test_totals() -> None:
    usage = Usage(
        input_tokens=1, cache_read_tokens=2, cache_write_tokens=3, cache_write_1h_tokens=4, output_tokens=5
    )
    assert usage.total_input_tokens == 10
    assert usage.total_tokens == 15


def test_create_defaults_and_utc() -> None:
    before = datetime.now(UTC)
    event = UsageEvent.create(provider="openai", model="gpt-5", input_tokens=3, project="p")
    assert event.id.startswith("cw-")
    assert before <= event.occurred_at <= datetime.now(UTC)
    assert event.source is EventSource.SDK
    assert event.status is EventStatus.OK
    assert event.attribution.project == "p"
    assert event.cost is None


def test_occurred_at_is_converted_to_utc() -> None:
    cet = timezone(timedelta(hours=1))
    event = UsageEvent.create(provider="p", model="m", occurred_at=datetime(2026, 1, 1, 0, 30, tzinfo=cet))
    assert event.occurred_at == datetime(2025, 12, 31, 23, 30, tzinfo=UTC)
    assert event.occurred_at.tzinfo is UTC


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        UsageEvent.create(provider="p", model="m", occurred_at=datetime(2026, 1, 1))
    assert info.value.field == "occurred_at"
    assert "needs a timezone" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"provider": ""}, "provider"),
        ({"model": "  "}, "model"),
        ({"id": ""}, "id"),
        ({"status": "weird"}, "status"),
        ({"source": "carrier-pigeon"}, "source"),
        ({"duration_ms": -5}, "duration_ms"),
        ({"tags": {"": "x"}}, "tags"),
        ({"tags": {"team": None}}, "tags.team"),
    ],
)
def test_bad_fields_are_named(kwargs: dict[str, object], field: str) -> None:
    base: dict[str, object] = {"provider": "p", "model": "m"}
    base.update(kwargs)
    with pytest.raises(ValidationError) as info:
        UsageEvent.create(**base)  # type: ignore[arg-type]
    assert info.value.field == field


def test_status_message_lists_choices() -> None:
    with pytest.raises(ValidationError) as info:
        UsageEvent.create(provider="p", model="m", status="weird")
    assert str(info.value) == "status: expected one of ok, error, cancelled, got 'weird'"


def test_attribution_merge_and_tags() -> None:
    outer = Attribution(project="a", agent="x", tags={"team": "red", "env": "dev"})
    inner = Attribution(agent="y", tags={"env": "prod"})
    merged = outer.merged(inner)
    assert merged.project == "a"
    assert merged.agent == "y"
    assert merged.tags == {"env": "prod", "team": "red"}
    assert merged.get("tag:team") == "red"
    assert merged.get("project") == "a"
    with pytest.raises(ValidationError):
        merged.get("colour")


def test_tag_values_become_strings_and_empty_attribution_is_none() -> None:
    attribution = Attribution(project="", tags={"n": 3})
    assert attribution.project is None
    assert attribution.tags == {"n": "3"}


def test_snapshot_key_orders_by_tokens_then_time() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    small = UsageEvent.create(provider="p", model="m", id="a", output_tokens=5, occurred_at=t0)
    big = UsageEvent.create(provider="p", model="m", id="a", output_tokens=50, occurred_at=t0)
    later = UsageEvent.create(
        provider="p", model="m", id="a", output_tokens=50, occurred_at=t0 + timedelta(seconds=1)
    )
    assert small.snapshot_key() < big.snapshot_key() < later.snapshot_key()


def test_generated_ids_are_unique_and_ordered() -> None:
    ids = [new_event_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert [i[:19] for i in ids] == sorted(i[:19] for i in ids)


def test_ids_longer_than_255_characters_are_hashed_never_truncated() -> None:
    prefix = "claude-code:" + "m" * 300
    ids = [f"{prefix}:{n}" for n in range(5)]
    events = [UsageEvent.create(provider="openai", model="gpt-5", id=i) for i in ids]
    stored = [e.id for e in events]
    assert len(set(stored)) == 5
    assert all(len(s) <= 255 for s in stored)
    assert [e.given_id for e in events] == ids
    assert [e.original_id for e in events] == ids
    # stable: the same long id gives the same key, in this process and any other
    again = UsageEvent.create(provider="openai", model="gpt-5", id=ids[0])
    assert again.id == stored[0] == event_key(ids[0])
    assert stored[0].startswith(prefix[:100])
    # ids of 255 characters or fewer are kept as given
    exact = "x" * 255
    assert event_key(exact) == exact
    plain = UsageEvent.create(provider="openai", model="gpt-5", id=exact)
    assert (plain.id, plain.given_id, plain.original_id) == (exact, None, exact)
