"""`costwarden statusline`'s quota segment (`{quota}`): Claude Code's own windows when its input carries them,
else the subscription plans' windows from the quota readings and the ledger; colours by utilization; the
fast way answering what the full way does, with new readings counted."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costwarden.cli import main
from costwarden.config import load_settings
from costwarden.statusline.fast import fast_figures
from costwarden.statusline.payload import parse_payload
from costwarden.statusline.render import QuotaFigure
from costwarden.statusline.snapshot import Identity, snapshot_path
from costwarden.storage.quotas import QuotaSnapshot, QuotaWindow
from costwarden.testing.agent_logs import claude_assistant, write
from costwarden.warden import Warden

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SESSION = "5f0c1c9e-sess"
GREEN, YELLOW, RED, RESET = "\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[0m"
MAX = """
subscriptions:
  - provider: anthropic
    plan: claude-max-5x
"""
TWO_PLANS = (
    MAX
    + """  - provider: codex
    plan: chatgpt-plus
"""
)
OWN = """
subscriptions:
  - provider: anthropic
    name: Team
    where: {agent: [claude-code]}
    windows:
      - {name: day, unit: requests, limit: 8, reset: daily 00:00}
      - {name: recent, unit: usd, limit: 0.1, reset: rolling 24h}
      - {name: tokens, unit: tokens, limit: 1000000, reset: weekly mon 00:00}
  - provider: anthropic
    account: work
    plan: claude-max-5x
"""


@pytest.fixture(autouse=True)
def _now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSTWARDEN_NOW", NOW.isoformat())
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture
def transcript(tmp_path: Path) -> Path:
    lines = [
        claude_assistant(
            message_id=f"msg_{n}",
            request_id=f"req_{n}",
            at="2026-11-20T10:00:00Z",
            output=300,
            session=SESSION,
        )
        for n in (1, 2)
    ]
    return write(tmp_path / "claude" / "projects" / "-home-dev-shop" / f"{SESSION}.jsonl", lines)


def payload(transcript: Path, **extra: Any) -> str:
    data: dict[str, Any] = {
        "session_id": SESSION,
        "transcript_path": str(transcript),
        "model": {"id": "claude-sonnet-4-5-20250929", "display_name": "Sonnet 4.5"},
        **extra,
    }
    return json.dumps(data)


RATE_LIMITS = {
    "rate_limits": {
        "five_hour": {"used_percentage": 23.5, "resets_at": 1795000000},
        "seven_day": {"used_percentage": 81.2, "resets_at": 1795500000},
    }
}


def config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "costwarden.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def read(
    conf: str, url: str, provider: str, window: str, utilization: float, account: str = "default", **at: Any
) -> None:
    """A reading of one window, as the provider's headers (or Codex's logs) give it."""
    observed = NOW - timedelta(**at) if at else NOW - timedelta(minutes=30)
    reset = observed + timedelta(hours=3)
    with Warden(load_settings(conf, database=url)) as warden:
        windows = {window: QuotaWindow(window, utilization=utilization, reset_at=reset)}
        warden.quotas.record(QuotaSnapshot(provider, observed, windows, account=account, source="headers"))


def statusline(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, stdin: str, *args: str
) -> str:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def now_us() -> int:
    return (NOW - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def fast_quotas(conf: str, url: str, stdin: str, transcript: Path) -> tuple[QuotaFigure, ...]:
    figures = fast_figures(
        parse_payload(stdin) or pytest.fail(),
        Identity.of(url, conf, SESSION),
        conf,
        str(transcript),
        now_us(),
    )
    assert figures is not None, "the snapshot does not hold"
    return figures.quotas


def test_plans_windows_when_claude_code_sends_none(
    tmp_path: Path,
    sqlite_url: str,
    transcript: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = config(tmp_path, MAX)
    read(conf, sqlite_url, "anthropic", "unified-5h", 0.42)
    read(conf, sqlite_url, "anthropic", "unified-7d", 0.875)
    args = ("--db", sqlite_url, "--config", conf, "statusline")
    # 5h and 7d from the readings; the preset's message floor (225 per 5h) counted from the ledger: 2 of 225
    out = statusline(capsys, monkeypatch, payload(transcript), *args, "--no-color")
    assert out == "Sonnet 4.5 | session $0.03 | today $0.03 | 5h 42% · 7d 88% · messages-5h 1%\n"
    out = statusline(capsys, monkeypatch, payload(transcript), *args, "--format", "{quota}")
    assert out == f"{GREEN}5h 42%{RESET} · {RED}7d 88%{RESET} · {GREEN}messages-5h 1%{RESET}\n"
    read(conf, sqlite_url, "anthropic", "unified-5h", 0.55, minutes=5)
    out = statusline(capsys, monkeypatch, payload(transcript), *args, "--format", "{quota}")
    assert out.startswith(f"{YELLOW}5h 55%{RESET} · ")


def test_claude_codes_own_windows_come_first(
    tmp_path: Path,
    sqlite_url: str,
    transcript: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = config(tmp_path, MAX)
    read(conf, sqlite_url, "anthropic", "unified-5h", 0.42)
    stdin = payload(transcript, **RATE_LIMITS)
    args = ("--db", sqlite_url, "--config", conf, "statusline", "--format", "{quota}")
    assert statusline(capsys, monkeypatch, stdin, *args) == f"{GREEN}5h 24%{RESET} · {RED}7d 81%{RESET}\n"
    assert statusline(capsys, monkeypatch, stdin, *args, "--no-color") == "5h 24% · 7d 81%\n"  # fast way
    assert fast_quotas(conf, sqlite_url, stdin, transcript) == ()  # nothing read that is not shown
    # only one window from Claude Code: its own still, no mix with the readings
    one = payload(transcript, rate_limits={"seven_day": {"used_percentage": 12}})
    assert statusline(capsys, monkeypatch, one, *args, "--no-color") == "7d 12%\n"


def test_without_plans_or_readings_the_segment_is_empty(
    tmp_path: Path,
    sqlite_url: str,
    transcript: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = ("--db", sqlite_url, "statusline", "--no-color")
    assert statusline(capsys, monkeypatch, payload(transcript), *args, "--format", "[{quota}]") == "[]\n"
    # a plan of percent windows with no reading yet: unknown, left out (the message floor still counts)
    conf = config(tmp_path, MAX)
    out = statusline(capsys, monkeypatch, payload(transcript), *args, "--config", conf)
    assert out == "Sonnet 4.5 | session $0.03 | today $0.03 | messages-5h 1%\n"


def test_readings_that_are_not_current(
    tmp_path: Path,
    sqlite_url: str,
    transcript: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = config(tmp_path, MAX)
    args = ("--db", sqlite_url, "--config", conf, "statusline", "--no-color", "--format", "{quota}")
    read(conf, sqlite_url, "anthropic", "unified-5h", 0.9, hours=6)  # before the rolling 5 hours
    read(conf, sqlite_url, "anthropic", "unified-7d", 0.6, hours=4)  # its reset (3 h later) has passed
    stdin = payload(transcript)
    assert statusline(capsys, monkeypatch, stdin, *args) == "7d 0% · messages-5h 1%\n"
    assert fast_quotas(conf, sqlite_url, stdin, transcript) == (
        QuotaFigure("7d", Decimal(0)),
        QuotaFigure("messages-5h", Decimal("0.9")),
    )


def test_several_plans_name_their_windows(
    tmp_path: Path,
    sqlite_url: str,
    transcript: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = config(tmp_path, TWO_PLANS)
    read(conf, sqlite_url, "anthropic", "unified-5h", 0.42)
    read(conf, sqlite_url, "codex", "primary-300m", 0.62)
    args = ("--db", sqlite_url, "--config", conf, "statusline", "--no-color", "--format", "{quota}")
    assert statusline(capsys, monkeypatch, payload(transcript), *args) == (
        "claude-max-5x 5h 42% · claude-max-5x messages-5h 1% · chatgpt-plus 5h 62%\n"
    )


def test_the_fast_way_counts_new_readings_and_events_as_the_full_way(
    tmp_path: Path,
    sqlite_url: str,
    transcript: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = config(tmp_path, OWN)
    stdin = payload(transcript)
    args = ("--db", sqlite_url, "--config", conf, "statusline", "--no-color", "--format", "{quota}")
    identity = Identity.of(sqlite_url, conf, SESSION)

    def both() -> str:
        fast = statusline(capsys, monkeypatch, stdin, *args)
        quotas = fast_quotas(conf, sqlite_url, stdin, transcript)
        snapshot_path(identity).unlink()
        full = statusline(capsys, monkeypatch, stdin, *args)
        assert fast == full
        assert fast_quotas(conf, sqlite_url, stdin, transcript) == quotas
        return full.strip()

    statusline(capsys, monkeypatch, stdin, *args)  # imports the transcript, leaves the snapshot
    # 2 requests of 8 today; $0.0285 of $0.10 in 24 h (28.5 %, shown half-even); 42.6K tokens of 1M this week
    assert both() == ("Team day 25% · Team 1d 28% · Team tokens 4% · work messages-5h 1%")
    read(conf, sqlite_url, "anthropic", "unified-7d", 0.31, account="work")
    assert (
        main(
            [
                "--db",
                sqlite_url,
                "record",
                "--provider",
                "anthropic",
                "--model",
                "claude-sonnet-4-5",
                "--agent",
                "claude-code",
                "--input-tokens",
                "1000",
                "--output-tokens",
                "100",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert both() == ("Team day 38% · Team 1d 33% · Team tokens 4% · work 7d 31% · work messages-5h 1%")


def test_a_fixed_window_holds_the_snapshot_inside_it(
    tmp_path: Path,
    sqlite_url: str,
    transcript: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = config(
        tmp_path,
        "timezone: UTC\nsubscriptions:\n  - provider: anthropic\n    windows:\n"
        "      - {name: shift, unit: requests, limit: 4, reset: daily 11:00}\n",
    )
    stdin = payload(transcript)
    args = ("--db", sqlite_url, "--config", conf, "statusline", "--no-color", "--format", "{quota}")
    monkeypatch.setenv("COSTWARDEN_NOW", "2026-11-20T10:30:00Z")
    assert statusline(capsys, monkeypatch, stdin, *args) == "shift 50%\n"
    monkeypatch.setenv("COSTWARDEN_NOW", "2026-11-20T11:00:00Z")  # a new window: the snapshot gives way
    assert statusline(capsys, monkeypatch, stdin, *args) == "shift 0%\n"


def test_the_fast_way_with_plans_loads_no_heavy_module(
    tmp_path: Path,
    sqlite_url: str,
    transcript: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = config(tmp_path, OWN)
    read(conf, sqlite_url, "anthropic", "unified-5h", 0.42, account="work")
    args = ["--db", sqlite_url, "--config", conf, "statusline", "--no-color"]
    first = statusline(capsys, monkeypatch, payload(transcript), *args)
    assert "5h 42%" in first
    probe = (
        "import sys\n"
        f"sys.argv = ['costwarden', *{args!r}]\n"
        "from costwarden.cli.entry import run\n"
        "try:\n"
        "    run()\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "heavy = ('sqlalchemy', 'pydantic', 'typer', 'rich', 'yaml', 'genai_prices', 'costwarden.warden',\n"
        "         'costwarden.quotas', 'costwarden.storage')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        input=payload(transcript),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert done.stdout == first + "[]\n"
