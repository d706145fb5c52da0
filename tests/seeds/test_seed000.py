"""Seed 000 (user-configurable cost tiers, subscription- and quota-aware tracking): its acceptance criteria
walked as a user would, with `costwarden` commands and config snippets, the numbers worked out by hand.

A tier holds models by blended price, (3 x input + 1 x output) / 4 USD per million tokens:
- claude-haiku-4-5 ($1 / $5):    (3 + 5) / 4     = $2      -> medium ($1 to $5)
- gpt-5 ($1.25 / $10):           (3.75 + 10) / 4 = $3.4375 -> medium
- claude-sonnet-4-5 ($3 / $15):  (9 + 15) / 4    = $6      -> high ($5 to $15)
- claude-opus-4-1 ($15 / $75):   (45 + 75) / 4   = $30     -> premium ($15 and up)
- ollama/llama3, a local model at $0 an hour: $0 -> low ($0 to $1)

Quota polling of provider APIs with cached answers (the seed's "regular quota polling" and "caching provider
quota responses") runs against a local JSON API in tests/quotas/test_quota_pollers.py.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from costwarden.budgets import AlertRecord
from costwarden.core.calls import CallRequest, Decision
from costwarden.core.routing import ProviderRegistry
from seeds.walk import Walk, walk

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def seed(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Walk:
    return walk(tmp_path, NOW, capsys, monkeypatch)


def tier_of(seed: Walk, model: str, *provider: str) -> str:
    """`costwarden tiers classify MODEL` -> `provider/model: TIER (blended $X per MTok)`: TIER and X."""
    line = seed.ok("tiers", "classify", model, *provider).strip()
    return line.split(": ", 1)[1]


def tiers(seed: Walk) -> list[tuple[str, str | None, str | None, str]]:
    return [
        (t["id"], t["price_range_min"], t["price_range_max"], t["origin"])
        for t in seed.run("tiers", "list", "--json").json()
    ]


def test_built_in_tiers_are_definitions_with_the_seeds_fields(seed: Walk) -> None:
    """CostTierDefinition: id, display_name, description, price_range_min, price_range_max, color/icon;
    low, medium, high, premium shipped as defaults."""
    listed = seed.run("tiers", "list", "--json").json()
    assert {key for tier in listed for key in tier} == {
        "id",
        "display_name",
        "description",
        "price_range_min",
        "price_range_max",
        "color",
        "icon",
        "origin",
    }
    assert [(t["id"], t["display_name"], t["icon"], t["color"]) for t in listed] == [
        ("low", "Low", "$", "#2e7d32"),
        ("medium", "Medium", "$$", "#1565c0"),
        ("high", "High", "$$$", "#ef6c00"),
        ("premium", "Premium", "$$$$", "#c62828"),
    ]
    assert tiers(seed) == [
        ("low", "0.00", "1.00", "builtin"),
        ("medium", "1.00", "5.00", "builtin"),
        ("high", "5.00", "15.00", "builtin"),
        ("premium", "15.00", None, "builtin"),
    ]
    assert tier_of(seed, "claude-haiku-4-5") == "medium (blended $2 per MTok)"
    assert tier_of(seed, "gpt-5") == "medium (blended $3.4375 per MTok)"
    assert tier_of(seed, "claude-sonnet-4-5") == "high (blended $6 per MTok)"
    assert tier_of(seed, "claude-opus-4-1") == "premium (blended $30 per MTok)"


def test_yaml_config_defines_custom_tiers(seed: Walk) -> None:
    """YAML config support for custom tier definitions: a tier between medium and high."""
    seed.write_config(
        "config.yaml",
        """\
tiers:
  definitions:
    - {id: medium, price_range_max: 2.5}
    - id: upper-medium
      display_name: Upper medium
      description: Strong everyday models
      price_range_min: 2.5
      price_range_max: 5
      color: "#00897b"
      icon: $$+
""",
    )
    assert tiers(seed) == [
        ("low", "0.00", "1.00", "builtin"),
        ("medium", "1.00", "2.50", "config"),
        ("upper-medium", "2.50", "5.00", "config"),
        ("high", "5.00", "15.00", "builtin"),
        ("premium", "15.00", None, "builtin"),
    ]
    assert tier_of(seed, "gpt-5") == "upper-medium (blended $3.4375 per MTok)"  # $3.4375 >= $2.50
    assert tier_of(seed, "claude-haiku-4-5") == "medium (blended $2 per MTok)"


def test_users_add_modify_and_remove_tiers_through_the_interface(seed: Walk) -> None:
    """Built-ins are defaults the user can add to, modify and remove: from the CLI, kept in the database."""
    seed.write_config(
        "config.yaml", "pricing:\n  local_providers:\n    - {provider: ollama, cost_per_hour: 0}\n"
    )
    assert (
        seed.ok("tiers", "set", "low", "--min", "0.01") == "Changed tier 'low': Low, $0.01 to $1 per MTok.\n"
    )
    assert seed.ok("tiers", "add", "local", "--min", "0", "--max", "0.01", "--name", "Local") == (
        "Added tier 'local': Local, $0 to $0.01 per MTok.\n"
    )
    assert tier_of(seed, "llama3", "--provider", "ollama") == "local (blended $0 per MTok)"
    assert seed.ok("tiers", "remove", "premium") == "Removed tier 'premium'.\n"
    # $30 is past every tier left: a price in a gap or above belongs to the tier below it
    assert tier_of(seed, "claude-opus-4-1") == "high (blended $30 per MTok)"
    assert seed.ok("tiers", "set", "high", "--max", "none", "--name", "Frontier").startswith(
        "Changed tier 'high': Frontier, $5 and up per MTok."
    )
    assert tiers(seed) == [
        ("local", "0.00", "0.01", "cli"),
        ("low", "0.01", "1.00", "cli"),
        ("medium", "1.00", "5.00", "builtin"),
        ("high", "5.00", None, "cli"),
    ]
    with seed.warden() as warden:  # the Python API reads the same tiers
        assert [t.id for t in warden.tiers.all()] == ["local", "low", "medium", "high"]


def test_tiers_are_referenced_by_string_id_and_an_unknown_one_is_refused(seed: Walk) -> None:
    providers = """\
tiers:
  definitions:
    - {id: low, price_range_min: 0.01}
    - {id: free, price_range_min: 0, price_range_max: 0.01}
providers:
  - {name: ollama, kind: local, models: [llama3], cost_tier: free}
  - name: anthropic
    models: [claude-sonnet-4-5, {name: claude-opus-4-1, cost_tier: premium}]
    cost_tier: high
"""
    seed.write_config("config.yaml", providers)
    with seed.warden() as warden:
        registry = ProviderRegistry(warden.settings.providers)
    assert [(r.provider, r.model, r.cost_tier) for r in registry.routes] == [
        ("ollama", "llama3", "free"),
        ("anthropic", "claude-sonnet-4-5", "high"),
        ("anthropic", "claude-opus-4-1", "premium"),
    ]
    ran = seed.run("tiers", "remove", "high")
    assert ran.code == 1
    assert "providers[1].cost_tier names tier 'high'; change that first" in ran.err
    path = seed.write_config("config.yaml", providers.replace("cost_tier: high", "cost_tier: top"))
    ran = seed.run("tiers", "list")
    assert ran.code == 2
    assert ran.err == (
        f"costwarden: configuration error: {path}: providers[1].cost_tier: no tier 'top' "
        "(known: free, low, medium, high, premium); define it under tiers.definitions\n"
    )


def test_a_subscription_counts_its_quota_not_tokens_priced(seed: Walk) -> None:
    """A Claude Pro subscription with daily caps: 45 messages of 12,000 tokens by Claude Code today, 28 in
    backend-api and 17 in frontend: 45 / 300 messages (15 %), 540,000 / 850,000 tokens (63.5 %)."""
    seed.write_config(
        "config.yaml",
        """\
subscriptions:
  - provider: anthropic
    plan: claude-pro
    windows:
      - {name: messages-day, unit: messages, limit: 300, reset: daily 00:00}
      - {name: tokens-day, unit: tokens, limit: 850000, reset: daily 00:00}
""",
    )
    with seed.warden() as warden:
        for i in range(45):
            warden.record(
                provider="anthropic",
                model="claude-sonnet-4-5",
                input_tokens=10_000,
                output_tokens=2_000,
                agent="claude-code",
                project="backend-api" if i < 28 else "frontend",
                occurred_at=NOW.replace(hour=8, minute=i),
            )
    (plan,) = seed.run("quota", "status", "--json").json()["plans"]
    assert (plan["plan"], plan["price_usd"]) == ("claude-pro", "20.00")
    windows = {w["name"]: w for w in plan["windows"]}
    day = windows["messages-day"]
    assert (day["used"], day["limit"], day["remaining"], day["percent"]) == (45, 300, 255, "15.0")
    assert [(p["project"], p["used"]) for p in day["by_project"]] == [("backend-api", 28), ("frontend", 17)]
    assert day["reset_at"] == "2026-11-21T00:00:00Z"
    tokens = windows["tokens-day"]
    assert (tokens["used"], tokens["limit"], tokens["percent"]) == (540_000, 850_000, "63.5")


def test_an_exhausted_quota_degrades_to_a_cheaper_provider_and_tells_the_user(seed: Walk) -> None:
    """Requests per minute on the high-tier route; past it, calls go to a route of the low tier (cost tiers
    bridge the routes and their economics) and an alert says so."""
    seed.write_config(
        "config.yaml",
        """\
providers:
  - {name: anthropic, models: [claude-sonnet-4-5], cost_tier: high}
  - {name: openai, models: [gpt-5-mini], cost_tier: low}
rate_limits:
  - {provider: anthropic, requests_per_minute: 2, action: fallback, fallback: ["tier:low"]}
""",
    )
    ask = CallRequest(provider="anthropic", model="claude-sonnet-4-5", input_tokens=1_000, max_tokens=500)
    with seed.warden() as warden:
        alerts: list[AlertRecord] = []
        warden.on_alert(alerts.append)
        first, second = warden.admit(ask), warden.admit(ask)
        assert {first.decision, second.decision} == {Decision.ALLOW}
        third = warden.admit(ask)
        assert (third.decision, third.provider, third.model) == (Decision.FALLBACK, "openai", "gpt-5-mini")
        for admission in (first, second, third):
            warden.release(admission)
        assert [a.kind for a in alerts] == ["fallback"]
        assert "rate:anthropic:rpm" in alerts[0].budget_id


def test_local_models_cost_nothing_but_have_hardware_limits(seed: Walk) -> None:
    """Ollama at $0 an hour: its calls are priced $0 (computed, not unpriced); one call at a time on the box,
    the next queued until the running one ends (the seed's "queue tasks")."""
    seed.write_config(
        "config.yaml",
        """\
pricing:
  local_providers:
    - {provider: ollama, cost_per_hour: 0}
rate_limits:
  - {provider: ollama, max_concurrent: 1, action: wait, max_wait: 30s}
""",
    )
    out = seed.run(
        "record", "--provider", "ollama", "--model", "llama3", "--input-tokens", "5000", "--json"
    ).json()
    assert (out["cost"], out["cost_source"], out["price_ref"]) == ("0.00", "computed", "local:ollama")
    ask = CallRequest(provider="ollama", model="llama3", input_tokens=1_000, max_tokens=500)
    with seed.warden() as warden:
        running = warden.admit(ask)
        assert running.reserved == Decimal(0)
        ended = threading.Event()

        def finish() -> None:
            ended.set()
            warden.release(running)

        timer = threading.Timer(0.3, finish)
        timer.start()
        try:
            queued = warden.admit(ask)  # waits for the slot
        finally:
            timer.join()
        assert ended.is_set()
        warden.release(queued)
        assert [b["id"] for b in seed.run("budget", "status", "--json").json()] == ["rate:ollama:concurrent"]
