"""Config values that used to be accepted and then misbehaved: fallback routes naming no
provider, thresholds written as fractions, notice templates that only fail when a call is refused."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import pytest

from costwarden import BudgetExceeded, CallRequest, ConfigError, Warden
from costwarden.cli import main
from costwarden.config import load_settings, settings_from_mapping

PROVIDERS = [
    {"name": "anthropic", "models": ["claude-sonnet-4-5"]},
    {"name": "ollama", "kind": "local", "models": ["llama3"]},
]


def budget(**fields: object) -> dict[str, object]:
    return {"id": "b", "period": "day", "cost_usd": 1, **fields}


@pytest.mark.parametrize(
    ("fallback", "index"),
    [
        (["nosuchprovider"], 0),
        (["ollama", "nosuchprovider/x"], 1),
        (["kind:freebie"], 0),
        (["local", "anthropc"], 1),
    ],
)
def test_fallback_routes_must_name_known_providers(tmp_path: Path, fallback: list[str], index: int) -> None:
    import yaml

    path = tmp_path / "c.yaml"
    path.write_text(
        yaml.safe_dump({"providers": PROVIDERS, "budgets": [budget(action="fallback", fallback=fallback)]}),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: budgets[0].fallback[{index}]: ")
    assert repr(fallback[index]) in message


@pytest.mark.parametrize(
    "fallback", [["ollama"], ["anthropic/claude-haiku-4-5"], ["local"], ["chain"], ["kind:local"]]
)
def test_known_fallback_routes_are_accepted(fallback: list[str]) -> None:
    settings = settings_from_mapping(
        {"providers": PROVIDERS, "budgets": [budget(action="fallback", fallback=fallback)]}
    )
    assert settings.budgets[0].fallback == fallback


def test_a_catalog_provider_may_be_named_with_its_model() -> None:
    """`openai/gpt-4o-mini` needs no `providers:` entry: the price catalog knows openai."""
    settings = settings_from_mapping(
        {"budgets": [budget(action="fallback", fallback=["openai/gpt-4o-mini"])]}
    )
    assert settings.budgets[0].fallback == ["openai/gpt-4o-mini"]


def test_fallback_bad_route_through_the_cli_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "budgets:\n  - {id: b, period: day, cost_usd: 1, action: fallback, fallback: [nosuchprovider]}\n",
        encoding="utf-8",
    )
    code = main(["--config", str(path), "--db", sqlite_url, "budget", "list"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{path}: budgets[0].fallback[0]" in err and "nosuchprovider" in err


@pytest.mark.parametrize("thresholds", [[0.8], [0.5, 0.8], [1], ["0.9"], [{"percent": 0.5}]])
def test_thresholds_written_as_fractions_are_refused(thresholds: list[object]) -> None:
    with pytest.raises(ConfigError, match=r"percent.*write 80 for 80 %") as caught:
        settings_from_mapping({"budgets": [budget(thresholds=thresholds)]}, "c.yaml")
    assert "budgets[0].thresholds[0]" in str(caught.value)
    with pytest.raises(ConfigError, match=r"alerts\.thresholds"):
        settings_from_mapping({"alerts": {"thresholds": thresholds}}, "c.yaml")


@pytest.mark.parametrize(("given", "percent"), [("0.5%", "0.5"), ("1%", "1"), (2, "2"), ("80%", "80")])
def test_small_thresholds_are_accepted_with_a_percent_sign(given: object, percent: str) -> None:
    settings = settings_from_mapping({"budgets": [budget(thresholds=[given])]})
    thresholds = settings.budgets[0].thresholds
    assert thresholds is not None and thresholds[0].percent == Decimal(percent)


def test_budget_set_refuses_a_fraction_threshold(capsys: pytest.CaptureFixture[str], sqlite_url: str) -> None:
    code = main(["--db", sqlite_url, "budget", "set", "--daily", "5", "--threshold", "0.8"])
    assert code == 2
    assert "write 80 for 80 %" in capsys.readouterr().err
    assert main(["--db", sqlite_url, "budget", "set", "--daily", "5", "--threshold", "0.5%"]) == 0


@pytest.mark.parametrize(
    "template", ["{0}", "{}", "{nosuch}", "{id.__class__}", "{limit[0]}", "{spent:%Y}", "{id", "x}"]
)
def test_notice_templates_are_checked_when_loaded(template: str) -> None:
    with pytest.raises(ConfigError, match=r"budgets\[0\]\.notice"):
        settings_from_mapping({"budgets": [budget(notice=template)]}, "c.yaml")


def test_a_good_notice_template_is_used(sqlite_url: str) -> None:
    settings = settings_from_mapping(
        {"database": sqlite_url, "budgets": [budget(cost_usd=0, notice="{name}: {spent} of {limit}, {{ok}}")]}
    )
    with Warden(settings) as warden, pytest.raises(BudgetExceeded) as caught:
        warden.admit(CallRequest(provider="openai", model="gpt-4o", input_tokens=10, max_tokens=10))
    assert str(caught.value) == "b: $0.00 of $0.00, {ok}"


def test_budget_exceeded_amounts_render_as_money(sqlite_url: str) -> None:
    settings = settings_from_mapping({"database": sqlite_url, "budgets": [budget(cost_usd=20)]})
    with Warden(settings) as warden:
        warden.record(provider="openai", model="gpt-4o", provider_cost=Decimal(20))
        with pytest.raises(BudgetExceeded) as caught:
            warden.admit(CallRequest(provider="openai", model="gpt-4o", input_tokens=10, max_tokens=10))
    error = caught.value
    assert error.limit == 20
    assert (str(error.limit), str(error.spent)) == ("20.00", "20.00")
    assert "E+" not in f"{error.limit} {error.spent} {error.remaining} {error.reserved}"


def test_a_log_channel_at_info_writes_info_alerts(sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_from_mapping(
        {
            "database": sqlite_url,
            "budgets": [budget(cost_usd=10, thresholds=[10])],
            "alerts": {"channels": [{"type": "log", "level": "info"}]},
        }
    )
    with Warden(settings) as warden:
        warden.record(provider="openai", model="gpt-4o", provider_cost=Decimal(2))
    infos = [r for r in caplog.records if r.name == "costwarden.alerts" and r.levelno == logging.INFO]
    assert len(infos) == 1 and "reached 10% of its $10.00 limit" in infos[0].getMessage()


def test_a_log_channel_at_info_prints_on_stderr(tmp_path: Path, sqlite_url: str) -> None:
    import subprocess
    import sys

    config = tmp_path / "c.yaml"
    config.write_text(
        "budgets:\n  - {id: b, period: day, cost_usd: 10, thresholds: [10]}\n"
        "alerts:\n  channels: [{type: log, level: info}]\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "costwarden",
            "--config",
            str(config),
            "--db",
            sqlite_url,
            "record",
            "--provider",
            "openai",
            "--model",
            "gpt-4o",
            "--input-tokens",
            "1000000",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "reached 10% of its $10.00 limit" in proc.stderr
