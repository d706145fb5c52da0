"""Rate-limit headers -> the latest known quota per provider."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from costwarden.ledger import Ledger
from costwarden.quotas import Quotas, parse_duration, parse_quota_headers
from costwarden.storage.quotas import MemoryQuotaStore

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_openai_headers() -> None:
    snap = parse_quota_headers(
        "openai",
        {
            "X-RateLimit-Limit-Requests": "500",
            "x-ratelimit-remaining-requests": "499",
            "x-ratelimit-reset-requests": "120ms",
            "x-ratelimit-limit-tokens": "30000",
            "x-ratelimit-remaining-tokens": "29000",
            "x-ratelimit-reset-tokens": "6m0s",
            "content-type": "application/json",
        },
        now=NOW,
    )
    assert snap is not None
    assert snap.windows["requests"].limit == 500 and snap.windows["requests"].remaining == 499
    assert snap.windows["requests"].reset_at == NOW + timedelta(milliseconds=120)
    assert snap.windows["tokens"].reset_at == NOW + timedelta(minutes=6)
    assert "content-type" not in snap.headers
    assert not snap.low


def test_anthropic_headers_including_unified_windows() -> None:
    snap = parse_quota_headers(
        "anthropic",
        {
            "anthropic-ratelimit-input-tokens-limit": "400000",
            "anthropic-ratelimit-input-tokens-remaining": "20000",
            "anthropic-ratelimit-input-tokens-reset": "2026-11-23T12:00:30Z",
            "anthropic-ratelimit-unified-5h-utilization": "0.42",
            "anthropic-ratelimit-unified-5h-reset": "1795435200",
            "anthropic-ratelimit-unified-status": "allowed",
            "retry-after": "7",
        },
        now=NOW,
    )
    assert snap is not None
    window = snap.windows["input-tokens"]
    assert window.reset_at == datetime(2026, 11, 23, 12, 0, 30, tzinfo=UTC)
    assert window.fraction_left == 0.05
    assert snap.low
    assert snap.windows["unified-5h"].utilization == 0.42
    assert snap.windows["unified-5h"].reset_at == datetime.fromtimestamp(1795435200, UTC)
    assert snap.windows["unified"].status == "allowed"
    assert snap.retry_after == 7.0


def test_no_rate_limit_headers() -> None:
    assert parse_quota_headers("openai", {"content-type": "text/plain"}) is None


def test_durations() -> None:
    assert parse_duration("1h2m3.5s") == timedelta(hours=1, minutes=2, seconds=3.5)
    assert parse_duration("20ms") == timedelta(milliseconds=20)
    assert parse_duration("7") == timedelta(seconds=7)
    assert parse_duration("soon") is None


def test_writes_are_throttled_but_kept_in_memory_and_flushed() -> None:
    store = MemoryQuotaStore()
    quotas = Quotas(store, persist_interval=3600)
    headers = {"x-ratelimit-limit-requests": "100", "x-ratelimit-remaining-requests": "90"}
    quotas.observe("openai", headers)
    first = store.latest("openai")
    quotas.observe("openai", {**headers, "x-ratelimit-remaining-requests": "80"})
    assert store.latest("openai") == first  # held back by the throttle
    assert quotas.latest("openai").windows["requests"].remaining == 80  # type: ignore[union-attr]
    quotas.observe("openai", {**headers, "x-ratelimit-remaining-requests": "5"})  # low: written at once
    assert store.latest("openai").windows["requests"].remaining == 5  # type: ignore[union-attr]
    quotas.observe("openai", {**headers, "x-ratelimit-remaining-requests": "50"})
    quotas.flush()
    assert store.latest("openai").windows["requests"].remaining == 50  # type: ignore[union-attr]
    assert [s.provider for s in quotas.all()] == ["openai"]


def test_snapshots_are_stored_in_the_ledger_database(ledger: Ledger) -> None:
    from costwarden.warden import Warden

    headers = {"anthropic-ratelimit-requests-limit": "50", "anthropic-ratelimit-requests-remaining": "49"}
    with Warden(ledger=ledger) as first:
        first.quotas.observe("anthropic", headers, model="claude-haiku-4-5", status_code=200)
        first.quotas.flush()
        again = Warden(ledger=ledger)
        stored = again.quotas.latest("anthropic")
        assert stored is not None
        assert stored.windows["requests"].remaining == 49
        assert (stored.model, stored.status_code) == ("claude-haiku-4-5", 200)
        older = parse_quota_headers("anthropic", headers, now=NOW)
        assert older is not None
        again.quotas.store.save(older)  # an older snapshot never replaces a newer one
        assert again.quotas.store.latest("anthropic").observed_at == stored.observed_at  # type: ignore[union-attr]
