"""Pricing speed: the cached PriceBook against direct `genai_prices.calc_price`, measured in the same run.

    python bench/bench_pricing.py [--events 20000] [--seed 1]

Prices the same mixed events (models, long-context calls, cache reads and writes, service tiers, dates
across two price changes) both ways, checks the totals agree, and prints microseconds per event and the
ratio. genai-prices gets its `Usage` objects built in advance, so its figure is its best case.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import genai_prices

from costwarden.core.money import from_units, to_units
from costwarden.core.usage import UsageEvent
from costwarden.pricing.book import PriceBook
from costwarden.pricing.catalog import price_context

__all__ = ["MODELS", "make_events", "main"]

MODELS: tuple[tuple[str, str], ...] = (
    ("anthropic", "claude-sonnet-4-5-20250929"),
    ("anthropic", "claude-opus-4-1"),
    ("anthropic", "claude-haiku-4-5"),
    ("openai", "gpt-5"),
    ("openai", "gpt-5-mini"),
    ("openai", "o3"),
    ("openai", "gpt-4o"),
    ("google", "gemini-2.5-pro"),
    ("google", "gemini-2.5-flash"),
    ("deepseek", "deepseek-chat"),
    ("x-ai", "grok-4"),
    ("mistral", "mistral-large-latest"),
)
TIERS: tuple[str | None, ...] = (None, None, None, None, "batch", "flex", "priority")


def make_events(count: int, seed: int) -> list[UsageEvent]:
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    events = []
    for index in range(count):
        provider, model = rng.choice(MODELS)
        output = rng.randrange(1, 8_000)
        long_context = rng.random() < 0.1
        events.append(
            UsageEvent.create(
                id=f"bench-{index}",
                provider=provider,
                model=model,
                occurred_at=start + timedelta(seconds=rng.randrange(0, 700 * 86_400)),
                input_tokens=rng.randrange(150_000, 400_000) if long_context else rng.randrange(0, 20_000),
                cache_read_tokens=rng.randrange(0, 60_000),
                cache_write_tokens=rng.randrange(0, 4_000),
                cache_write_1h_tokens=rng.choice((0, 0, 0, rng.randrange(0, 4_000))),
                output_tokens=output,
                reasoning_tokens=rng.randrange(0, output),
                service_tier=rng.choice(TIERS),
            )
        )
    return events


def _genai_args(event: UsageEvent) -> tuple[Any, dict[str, Any]]:
    usage = event.usage
    theirs = genai_prices.Usage(
        input_tokens=usage.total_input_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens + usage.cache_write_1h_tokens,
        cache_write_1h_tokens=usage.cache_write_1h_tokens,
        output_tokens=usage.output_tokens,
    )
    kwargs = {
        "provider_id": event.provider,
        "genai_request_timestamp": event.occurred_at,
        "price_context": price_context(event.service_tier),
    }
    return theirs, kwargs


def _per_event(run: Callable[[], object], count: int, repeat: int) -> float:
    """Median microseconds per event over `repeat` passes."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        times.append((time.perf_counter() - began) / count * 1e6)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    events = make_events(args.events, args.seed)
    genai_calls = [_genai_args(event) for event in events]
    genai_prices.calc_price(*genai_calls[0][:1], events[0].model, **genai_calls[0][1])  # load the data

    book = PriceBook()
    began = time.perf_counter()
    ours = [book.price(event).total for event in events]
    cold = (time.perf_counter() - began) / len(events) * 1e6

    def run_book() -> None:
        price = book.price
        for event in events:
            price(event)

    def run_genai() -> list[Decimal]:
        calc = genai_prices.calc_price
        return [
            calc(usage, event.model, **kwargs).total_price
            for event, (usage, kwargs) in zip(events, genai_calls, strict=True)
        ]

    warm = _per_event(run_book, len(events), args.repeat)
    theirs = run_genai()
    direct = _per_event(run_genai, len(events), max(1, args.repeat // 2))

    mismatches = sum(a != from_units(to_units(b)) for a, b in zip(ours, theirs, strict=True))
    print(f"events:                         {len(events)} ({len(MODELS)} models, 2025-2026, service tiers)")
    print(f"PriceBook.price, cached:        {warm:8.2f} us/event")
    print(f"PriceBook.price, first pass:    {cold:8.2f} us/event (builds the cache)")
    print(f"genai_prices.calc_price:        {direct:8.2f} us/event")
    print(f"ratio (calc_price / cached):    {direct / warm:8.1f}x")
    print(f"totals that differ:             {mismatches}")
    if mismatches:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
