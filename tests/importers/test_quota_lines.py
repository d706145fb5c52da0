"""Subscription readings from agent logs: Codex `rate_limits` (every block, as a time series, with the plan
type; `resets_at` epochs and the older `resets_in_seconds`) and Claude Code "usage limit reached" lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from costwarden.importers import ClaudeCodeParser, CodexParser, find_files, import_files
from costwarden.importers.claude_limits import limit_hit
from costwarden.ledger import MemoryLedger
from costwarden.testing.agent_logs import (
    claude_assistant,
    claude_limit_reached,
    claude_user,
    codex_meta,
    codex_token_count,
    codex_turn_context,
    codex_usage,
    write,
)
from costwarden.warden import Warden

RESET = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


def codex_log(root: Path) -> Path:
    at = "2026-11-20T09:00:0{}.000Z".format
    turn = codex_usage(5000, 3000, 400, 150)
    newer = {
        "primary": {"used_percent": 41.5, "window_minutes": 300, "resets_at": int(RESET.timestamp())},
        "secondary": {
            "used_percent": 7.0,
            "window_minutes": 10080,
            "resets_at": int(RESET.timestamp()) + 86400,
        },
        "plan_type": "plus",
    }
    return write(
        root / "sessions" / "rollout-2026-11-20T09-00-00-dddd.jsonl",
        [
            codex_meta("dddd", "/home/dev/api", at(0)),
            codex_turn_context("gpt-5-codex", "/home/dev/api", at(1)),
            codex_token_count(at(2), last=turn, total=turn, used_percent=40.0),
            codex_token_count(at(3), last=None, total=None, rate_limits=newer),
        ],
    )


def test_every_codex_rate_limits_block_is_a_reading(tmp_path: Path) -> None:
    codex_log(tmp_path)
    warden = Warden(ledger=MemoryLedger())
    import_files(warden, CodexParser(), find_files([tmp_path]))
    history = warden.quotas.history(provider="codex", window="primary-300m")
    assert [(r.observed_at.second, r.utilization) for r in history] == [(2, 0.40), (3, 0.415)]
    old, new = history
    assert old.reset_at == old.observed_at + timedelta(seconds=3600)  # resets_in_seconds
    assert new.reset_at == RESET and new.status == "plus" and new.source == "codex"
    weekly = warden.quotas.readings(provider="codex")
    assert {(r.window, r.utilization) for r in weekly} == {
        ("primary-300m", 0.415),
        ("secondary-10080m", 0.07),
    }


def test_claude_code_limit_lines_are_limit_hits(tmp_path: Path) -> None:
    epoch = int(RESET.timestamp())
    write(
        tmp_path / "projects" / "-home-dev-shop" / "s1.jsonl",
        [
            claude_user("s1", "/home/dev/shop", "2026-11-20T09:00:00.000Z"),
            claude_assistant(
                message_id="msg_1", request_id="req_1", at="2026-11-20T09:00:01.000Z", output=10
            ),
            claude_limit_reached("2026-11-20T09:05:00.000Z", f"Claude AI usage limit reached|{epoch}"),
            claude_limit_reached("2026-11-20T10:00:00.000Z", "5-hour limit reached ∙ resets 3pm"),
            claude_limit_reached(
                "2026-11-20T11:00:00.000Z",
                "Claude usage limit reached. Your limit will reset at 9:30pm (Europe/Berlin).",
            ),
        ],
    )
    warden = Warden(ledger=MemoryLedger())
    result = import_files(warden, ClaudeCodeParser(), find_files([tmp_path]))
    assert result.events == 1  # the limit lines are no events
    hits = warden.quotas.history(provider="anthropic")
    assert [(r.window, r.reset_at, r.status, r.utilization) for r in hits] == [
        ("limit", RESET, "exhausted", 1.0),
        ("unified-5h", datetime(2026, 11, 20, 15, 0, tzinfo=UTC), "exhausted", 1.0),
        ("limit", datetime(2026, 11, 20, 20, 30, tzinfo=UTC), "exhausted", 1.0),
    ]
    assert all(r.source == "claude-code" and r.exhausted for r in hits)


@pytest.mark.parametrize(
    ("text", "window", "reset"),
    [
        (
            "Weekly limit reached ∙ resets Nov 23, 2pm",
            "unified-7d",
            datetime(2026, 11, 23, 14, 0, tzinfo=UTC),
        ),
        ("5-hour limit reached ∙ resets 9am", "unified-5h", datetime(2026, 11, 21, 9, 0, tzinfo=UTC)),
        ("Claude AI usage limit reached|12", "limit", None),  # no sane epoch: a hit without a reset
        ("usage limit reached, resets at 25:00", "limit", None),
    ],
)
def test_limit_texts(text: str, window: str, reset: datetime | None) -> None:
    hit = limit_hit(text, datetime(2026, 11, 20, 18, 0, tzinfo=UTC))
    assert hit is not None
    assert list(hit.windows) == [window] and hit.windows[window].reset_at == reset


def test_ordinary_text_is_no_limit_hit() -> None:
    assert limit_hit("I reached the file limit of the repo", datetime(2026, 11, 20, tzinfo=UTC)) is None
