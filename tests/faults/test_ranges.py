"""Every numeric and date input is range-checked at the door.

Each input is tried through the Python API, the config file and the CLI: a value outside the documented
range (`costwarden.core.limits`) is a clear error naming where it came from (a `ValidationError` naming the
field, a `ConfigError` naming file and key, exit 2 naming the flag), never a traceback and never a stored
value that breaks a later process.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pydantic
import pytest

from costwarden import ConfigError, UsageEvent, ValidationError
from costwarden.budgets import SavedBudget
from costwarden.cli import main
from costwarden.config import Settings, load_settings, settings_from_mapping
from costwarden.core.calls import CallRequest
from costwarden.core.limits import MAX_BUDGET_COUNT, MAX_DATE, MAX_TOKENS, MAX_USD, MIN_DATE
from costwarden.core.money import parse_money
from costwarden.core.periods import Period, parse_duration
from costwarden.core.policy import BudgetConfig
from costwarden.core.usage import Usage
from costwarden.warden import Warden


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, text: str | bytes, name: str = "costwarden.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# -- token counts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field", ["input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"]
)
@pytest.mark.parametrize("count", [MAX_TOKENS + 1, 2**63, 10**30])
def test_token_counts_above_the_ceiling_are_refused_by_the_api(field: str, count: int) -> None:
    with pytest.raises(ValidationError, match=field) as caught:
        Usage(**{field: count})
    assert "10^12" in str(caught.value)


def test_token_counts_at_the_ceiling_are_accepted() -> None:
    assert Usage(input_tokens=MAX_TOKENS, output_tokens=MAX_TOKENS).total_tokens == 2 * MAX_TOKENS


def test_a_request_above_the_ceiling_is_refused() -> None:
    with pytest.raises(ValidationError, match="max_tokens"):
        CallRequest(provider="openai", model="gpt-4o", max_tokens=2**63)


@pytest.mark.parametrize("flag", ["--input-tokens", "--output-tokens", "--cache-read-tokens"])
def test_record_refuses_huge_token_counts(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, flag: str
) -> None:
    record = ("--db", sqlite_url, "record", "--provider", "ollama", "--model", "llama3")
    assert run(capsys, *record, flag, "1000")[0] == 0
    code, _, err = run(capsys, *record, flag, str(2**63))
    assert code == 2, err
    assert flag in err and "Traceback" not in err
    code, out, err = run(capsys, "--db", sqlite_url, "report", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["totals"]["events"] == 1


# -- dates -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "at",
    [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
        MAX_DATE,
        datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
    ],
)
def test_events_outside_the_date_range_are_refused_by_the_api(at: datetime) -> None:
    with pytest.raises(ValidationError, match=r"occurred_at.*2000-01-01"):
        UsageEvent.create(provider="openai", model="gpt-4o", occurred_at=at)


def test_the_ends_of_the_date_range_are_accepted() -> None:
    UsageEvent.create(provider="openai", model="gpt-4o", occurred_at=MIN_DATE)
    UsageEvent.create(provider="openai", model="gpt-4o", occurred_at=datetime(2099, 12, 31, 23, tzinfo=UTC))


@pytest.mark.parametrize("value", ["0001-01-01", "1999-12-31", "2100-01-01", "9999-12-31T23:59:59Z"])
@pytest.mark.parametrize(
    "command",
    [
        ("record", "--provider", "openai", "--model", "gpt-4o", "--at"),
        ("report", "--from"),
        ("report", "--to"),
        ("trends", "--from"),
        ("trends", "--to"),
        ("top", "--to"),
        ("export", "--from"),
        ("budget", "status", "--at"),
    ],
)
def test_dates_out_of_range_are_usage_errors(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, command: tuple[str, ...], value: str
) -> None:
    assert run(capsys, "--db", sqlite_url, "budget", "set", "--daily", "1")[0] == 0
    code, _, err = run(capsys, "--db", sqlite_url, *command, value)
    assert code == 2, err
    assert command[-1] in err and "2000-01-01" in err and "Traceback" not in err


# -- money -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["1e30", "100000000.01", "1e9"])
def test_amounts_above_the_ceiling_are_refused(amount: str) -> None:
    with pytest.raises(ValidationError, match=r"\$100,000,000"):
        parse_money(amount, "amount")
    with pytest.raises(pydantic.ValidationError, match=r"\$100,000,000"):
        BudgetConfig.model_validate({"id": "b", "period": "day", "cost_usd": amount})


def test_the_money_ceiling_itself_is_accepted() -> None:
    assert parse_money(str(MAX_USD), "amount") == MAX_USD


@pytest.mark.parametrize("flag", ["--daily", "--monthly", "--total"])
def test_budget_set_refuses_a_limit_above_the_ceiling(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, flag: str
) -> None:
    assert run(capsys, "--db", sqlite_url, "db", "upgrade")[0] == 0
    code, _, err = run(capsys, "--db", sqlite_url, "budget", "set", flag, "1e30")
    assert code == 2, err
    assert "$100,000,000" in err
    code, out, err = run(capsys, "--db", sqlite_url, "budget", "list", "--json")
    assert (code, out.strip()) == (0, "[]")


@pytest.mark.parametrize("flag", ["--tokens", "--requests"])
def test_budget_set_refuses_counts_above_the_ceiling(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, flag: str
) -> None:
    code, _, err = run(capsys, "--db", sqlite_url, "budget", "set", "--daily", "1", flag, str(10**16))
    assert code == 2, err
    assert flag in err
    with pytest.raises(pydantic.ValidationError):
        BudgetConfig.model_validate({"id": "b", "period": "day", flag[2:]: MAX_BUDGET_COUNT + 1})


# -- periods and durations ---------------------------------------------------------------------------


@pytest.mark.parametrize("period", ["rolling: 720000d", "rolling: 367d", "rolling: 1e300", "rolling: 0s"])
def test_rolling_windows_out_of_range_are_refused(period: str) -> None:
    with pytest.raises(ValueError, match="rolling window"):
        Period.parse(period)


def test_a_year_long_rolling_window_is_accepted() -> None:
    assert Period.parse("rolling: 366d").seconds == 366 * 86400


@pytest.mark.parametrize("value", ["720000d", "367d", 10**12, float("inf"), float("nan")])
def test_durations_out_of_range_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="timeout"):
        parse_duration(value, "timeout")


def test_budget_set_refuses_a_huge_rolling_window_and_stores_nothing(
    capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    code, _, err = run(
        capsys, "--db", sqlite_url, "budget", "set", "--period", "rolling: 720000d", "--limit", "3"
    )
    assert code == 2, err
    assert "366 days" in err
    assert run(capsys, "--db", sqlite_url, "record", "--provider", "openai", "--model", "gpt-4o")[0] == 0


def test_a_stored_bad_budget_is_skipped_with_a_warning_not_a_crash(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A budget saved by an older version (before these checks) must not break every later command."""
    with Warden(database=sqlite_url) as warden:
        records = warden.budgets.records  # type: ignore[union-attr]
        records.save_budget(SavedBudget("huge", {"period": "rolling: 720000d", "cost_usd": "3"}))
        records.save_budget(SavedBudget("rich", {"period": "day", "cost_usd": "1e30"}))
    for command in (
        ("record", "--provider", "openai", "--model", "gpt-4o", "--input-tokens", "10"),
        ("report", "--format", "json"),
        ("budget", "status", "--json"),
        ("budget", "list", "--json"),
        ("forecast",),
    ):
        code, _, err = run(capsys, "--db", sqlite_url, *command)
        assert code == 0, (command, err)
    assert "ignoring budget 'huge'" in caplog.text
    assert "ignoring budget 'rich'" in caplog.text


# -- config file -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("budget", "key"),
    [
        ({"period": "rolling: 720000d", "cost_usd": 3}, "budgets[0].period"),
        ({"period": "day", "cost_usd": "1e30"}, "budgets[0].cost_usd"),
        ({"period": "day", "tokens": 10**16}, "budgets[0].tokens"),
        ({"period": "day", "cost_usd": 1, "thresholds": ["abc%"]}, "budgets[0].thresholds[0]"),
        ({"period": "day", "cost_usd": 1, "thresholds": [{"percent": "NaN"}]}, "budgets[0].thresholds[0]"),
        ({"period": "day", "cost_usd": 1, "queue_timeout": "720000d"}, "budgets[0].queue_timeout"),
        ({"period": "day", "cost_usd": 1, "overrides": {"x": {"cost_usd": "1e30"}}}, "budgets[0].overrides"),
    ],
)
def test_config_values_out_of_range_name_file_and_key(
    tmp_path: Path, budget: dict[str, Any], key: str
) -> None:
    import yaml

    path = write(tmp_path, yaml.safe_dump({"budgets": [{"id": "b", **budget}]}))
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value).startswith(f"{path}: {key}")


@pytest.mark.parametrize("url", ["http://x", "x", "redis//localhost", "postgresql://h/db"])
def test_redis_url_must_be_a_redis_url(url: str) -> None:
    with pytest.raises(ConfigError, match="redis_url: expected a Redis URL"):
        settings_from_mapping({"redis_url": url}, "c.yaml")


@pytest.mark.parametrize("url", ["redis://localhost:6379/0", "rediss://h", "unix:///tmp/redis.sock"])
def test_redis_urls_are_accepted(url: str) -> None:
    assert settings_from_mapping({"redis_url": url}).redis_url == url


def test_config_duration_sections_are_range_checked() -> None:
    with pytest.raises(ConfigError, match=r"admission\.reservation_ttl"):
        settings_from_mapping({"admission": {"reservation_ttl": "720000d"}})
    with pytest.raises(ConfigError, match=r"retention\.detailed_days"):
        settings_from_mapping({"retention": {"detailed_days": 10**9}})
    with pytest.raises(ConfigError, match=r"estimation\.default_max_tokens"):
        settings_from_mapping({"estimation": {"default_max_tokens": 2**63}})


def test_a_non_utf8_config_file_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    path = write(tmp_path, b"timezone: \xff\xfe\n")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_settings(path)
    code, _, err = run(capsys, "--config", str(path), "--db", sqlite_url, "budget", "list")
    assert code == 2
    assert str(path) in err and "UTF-8" in err


@pytest.mark.parametrize(
    ("name", "text"), [("deep.yaml", "[" * 100_000), ("deep.toml", "a = " + "[" * 100_000)]
)
def test_a_deeply_nested_config_file_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sqlite_url: str, name: str, text: str
) -> None:
    path = write(tmp_path, text, name)
    with pytest.raises(ConfigError, match="nested"):
        load_settings(path)
    code, _, err = run(capsys, "--config", str(path), "--db", sqlite_url, "budget", "list")
    assert code == 2 and "nested" in err


def test_a_config_nested_past_the_limit_but_parseable_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "budgets: " + "[" * 70 + "]" * 70 + "\n")
    with pytest.raises(ConfigError, match="nested more than 64 levels"):
        load_settings(path)


def test_an_oversized_config_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = write(tmp_path, "# padding\n" * 110_000)
    assert path.stat().st_size > 1024 * 1024
    with pytest.raises(ConfigError, match="larger than 1 MiB"):
        load_settings(path)


# -- non-UTF-8 option values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("record", "--provider", "openai", "--model", "gpt-4o", "--project", "caf\udce9"),
        ("budget", "set", "--daily", "1", "--project", "\udcff"),
        ("report", "--where", "project=\udcff"),
        ("--db", "sqlite:///\udcff.db", "report"),
    ],
)
def test_option_values_that_are_not_utf8_are_usage_errors(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, args: tuple[str, ...]
) -> None:
    code, _, err = run(capsys, "--db", sqlite_url, *args)
    assert code == 2, err
    assert "not valid UTF-8" in err and "Traceback" not in err


def test_non_utf8_command_line_from_a_shell(tmp_path: Path, sqlite_url: str) -> None:
    """The real process: the shell hands bytes; Python decodes them with surrogateescape."""
    import os
    import subprocess
    import sys

    proc = subprocess.run(
        [
            os.fsencode(sys.executable),
            b"-m",
            b"costwarden",
            b"--db",
            sqlite_url.encode(),
            b"record",
            b"--provider",
            b"openai",
            b"--model",
            b"gpt-4o",
            b"--project",
            b"\xff\xfe",
        ],
        capture_output=True,
        check=False,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    assert b"not valid UTF-8" in proc.stderr and b"Traceback" not in proc.stderr


# -- the Python API ----------------------------------------------------------------------------------


def test_warden_refuses_out_of_range_budgets_and_events(sqlite_url: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="rolling window"):
        Settings.model_validate({"budgets": [{"id": "b", "period": "rolling: 720000d", "cost_usd": 1}]})
    with Warden(database=sqlite_url) as warden:
        with pytest.raises(ValidationError, match="input_tokens"):
            warden.record(provider="openai", model="gpt-4o", input_tokens=5 * 10**18)
        with pytest.raises(ValidationError, match="occurred_at"):
            warden.record(provider="openai", model="gpt-4o", occurred_at=datetime(1, 1, 1, tzinfo=UTC))
        with pytest.raises(ValidationError, match="provider_cost"):
            warden.record(provider="openai", model="gpt-4o", provider_cost=Decimal("1e30"))
        assert warden.record(provider="openai", model="gpt-4o", input_tokens=10).cost is not None
