from __future__ import annotations

import json
from pathlib import Path

import pytest

from costwarden.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_prices_show_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "prices", "show", "claude-sonnet-4-5", "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["provider"] == "anthropic"
    assert payload["input"] == "3.00"
    assert payload["cache_read"] == "0.30"
    assert payload["cache_write"] == "3.75"
    assert payload["cache_write_1h"] == "6.00"
    assert payload["output"] == "15.00"
    assert payload["long_context_tiers"][0]["above_input_tokens"] == 200000
    assert payload["long_context_tiers"][0]["input"] == "6.00"
    assert payload["cost_tier"] == "high"


def test_prices_show_table_and_dated(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--no-color", "prices", "show", "openai/gpt-5")
    assert code == 0
    assert "1.25" in out
    assert "cost tier: medium" in out


def test_prices_show_unknown_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "prices", "show", "no-such-model-xyz")
    assert code == 1
    assert "unknown model 'no-such-model-xyz'" in err
    assert "fallback price" in err


def test_prices_check(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'p.db'}"
    cfg = tmp_path / "c.yaml"
    cfg.write_text("pricing:\n  overrides:\n    - {model: gpt-5, input: 1, output: 8}\n")
    for model in ("gpt-5", "claude-sonnet-4-5", "mystery-9"):
        provider = "anthropic" if model.startswith("claude") else "openai"
        assert (
            run(
                capsys,
                "--db",
                db,
                "--config",
                str(cfg),
                "record",
                "--provider",
                provider,
                "--model",
                model,
                "--input-tokens",
                "100",
            )[0]
            == 0
        )
    code, out, _ = run(capsys, "--db", db, "--config", str(cfg), "prices", "check", "--json")
    assert code == 1  # an unpriced model was found
    payload = json.loads(out)
    by_model = {m["model"]: m for m in payload["models"]}
    assert set(by_model) == {"gpt-5", "mystery-9"}
    assert by_model["gpt-5"]["status"] == "override"
    assert by_model["mystery-9"]["status"] == "unpriced"
    assert payload["unpriced"] == 1


def test_prices_check_all_priced(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'q.db'}"
    assert run(capsys, "--db", db, "record", "--provider", "openai", "--model", "gpt-5")[0] == 0
    code, out, _ = run(capsys, "--db", db, "prices", "check")
    assert code == 0
    assert "Every model in the ledger is priced" in out


def test_tiers_list_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cfg = tmp_path / "t.yaml"
    cfg.write_text("tiers:\n  remove: [premium]\n  definitions:\n    - {id: high, price_range_max: null}\n")
    code, out, _ = run(capsys, "--config", str(cfg), "tiers", "list", "--json")
    assert code == 0, out
    ids = [t["id"] for t in json.loads(out)]
    assert ids == ["low", "medium", "high"]


def test_tiers_classify(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "tiers", "classify", "gpt-5")
    assert code == 0
    assert out.strip() == "openai/gpt-5: medium (blended $3.4375 per MTok)"
