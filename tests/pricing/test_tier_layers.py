"""Tiers set from the CLI laid over the config's: applied together, the config winning on the ids it names,
removals of tiers the providers name kept, a change that no longer fits left out with its reason."""

from __future__ import annotations

from decimal import Decimal

from costwarden.pricing.tiers import TiersConfig, layer_tiers

D = Decimal


def ranges(layers: object) -> list[tuple[str, Decimal, Decimal | None]]:
    return [(t.id, t.price_range_min, t.price_range_max) for t in layers.tiers]  # type: ignore[attr-defined]


def test_cli_edits_apply_together_whatever_their_order() -> None:
    # `free` fits only once `low` starts at 0.01: applied together, in any id order, they fit
    cli = {"free": {"price_range_min": "0", "price_range_max": "0.01"}, "low": {"price_range_min": "0.01"}}
    layers = layer_tiers(None, cli)
    assert ranges(layers)[:2] == [("free", D(0), D("0.01")), ("low", D("0.01"), D(1))]
    assert layers.origins == {
        "free": "cli",
        "low": "cli",
        "medium": "builtin",
        "high": "builtin",
        "premium": "builtin",
    }
    assert layers.shadowed == () and layers.skipped == ()


def test_the_config_wins_on_the_ids_it_names() -> None:
    config = TiersConfig.model_validate(
        {"remove": ["premium"], "definitions": [{"id": "high", "price_range_max": None}]}
    )
    cli = {"high": {"price_range_max": "20"}, "premium": {"display_name": "Top"}, "medium": {"icon": "M"}}
    layers = layer_tiers(config, cli)
    assert layers.shadowed == ("high", "premium")
    assert ranges(layers)[-1] == ("high", D(5), None)
    assert [t.icon for t in layers.tiers] == ["$", "M", "$$$"]
    assert layers.origins["high"] == "config" and layers.origins["medium"] == "cli"


def test_a_removal_of_a_tier_the_providers_name_is_shadowed() -> None:
    layers = layer_tiers(None, {"premium": None, "low": None}, keep={"premium"})
    assert [t.id for t in layers.tiers] == ["medium", "high", "premium"]
    assert layers.shadowed == ("premium",)
    assert "low" not in layers.origins


def test_a_cli_change_that_no_longer_fits_is_left_out_with_its_reason() -> None:
    # stored while it fitted; then the config widened `medium` over it
    config = TiersConfig.model_validate(
        {"definitions": [{"id": "medium", "price_range_max": 8}, {"id": "high", "price_range_min": 8}]}
    )
    cli = {"mid-plus": {"price_range_min": "5", "price_range_max": "6"}, "low": {"icon": "L"}}
    layers = layer_tiers(config, cli)
    (skipped,) = layers.skipped
    assert skipped[0] == "mid-plus"
    assert "'medium' ($1 to $8 per MTok) and 'mid-plus' ($5 to $6 per MTok) overlap" in skipped[1]
    assert ranges(layers)[1:3] == [("medium", D(1), D(8)), ("high", D(8), D(15))]
    assert "mid-plus" not in layers.origins
    assert layers.tiers[0].icon == "L" and layers.origins["low"] == "cli"
