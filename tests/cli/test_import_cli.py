"""`costwarden import claude-code|codex`: summary, JSON, idempotence, default locations, --watch."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from costwarden.cli import main
from costwarden.testing.agent_logs import (
    append,
    claude_assistant,
    codex_meta,
    codex_token_count,
    codex_turn_context,
    write,
)
from costwarden.testing.agent_logs import codex_usage as usage_block


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def claude_logs(root: Path) -> Path:
    return write(
        root / "projects" / "-home-dev-shop" / "s1.jsonl",
        [
            claude_assistant(message_id="msg_1", request_id="req_1", at="2026-11-20T10:00:00Z", output=1),
            claude_assistant(message_id="msg_1", request_id="req_1", at="2026-11-20T10:00:01Z", output=300),
            "{oops",
        ],
    )


def test_import_claude_code_json_summary_and_idempotence(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    claude_logs(tmp_path / "claude")
    code, out, _ = run(capsys, "--db", db, "import", "claude-code", str(tmp_path / "claude"), "--json")
    assert code == 0
    summary = json.loads(out)
    # 4 input * $3 + 20000 cache reads * $0.30 + 1000 5m writes * $3.75 + 300 output * $15 per MTok
    assert summary["events"] == 1 and summary["malformed_lines"] == 1 and summary["lines"] == 3
    assert summary["cost_usd"] == "0.014262"
    assert summary["by_model"] == {"claude-sonnet-4-5": {"events": 1, "cost_usd": "0.014262"}}
    code, out, _ = run(capsys, "--db", db, "import", "claude-code", str(tmp_path / "claude"), "--json")
    assert json.loads(out)["events"] == 0 and json.loads(out)["lines"] == 0


def test_import_text_summary_from_default_location(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    claude_logs(tmp_path / "cfg")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "cfg"))
    code, out, _ = run(capsys, "--db", db, "import", "claude-code")
    assert code == 0
    assert "1 new events" in out and "ledger +$0.0143" in out
    assert "skipped 1 malformed lines" in out


def test_import_codex(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    turn = usage_block(5000, 3000, 400, 150)
    write(
        tmp_path / "codex" / "sessions" / "2026" / "11" / "20" / "rollout-a.jsonl",
        [
            codex_meta("a", "/home/dev/api", "2026-11-20T09:00:00Z"),
            codex_turn_context("gpt-5", "/home/dev/api", "2026-11-20T09:00:01Z"),
            codex_token_count("2026-11-20T09:00:02Z", last=turn, total=turn),
        ],
    )
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex"))
    code, out, _ = run(capsys, "--db", db, "import", "codex", "--json")
    assert code == 0
    # 2000 * $1.25 + 3000 * $0.125 + 400 * $10 per MTok
    assert json.loads(out)["cost_usd"] == "0.006875"


def test_no_logs_found(capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, out, _ = run(capsys, "--db", db, "import", "codex", str(tmp_path / "empty"))
    assert code == 0 and "no log files found" in out


def test_a_missing_path_is_a_usage_error(capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path) -> None:
    code, _, err = run(capsys, "--db", db, "import", "claude-code", str(tmp_path / "nothing"))
    assert code == 2 and "PATHS" in err and "nothing" in err


def test_watch_follows_new_lines(capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path) -> None:
    path = claude_logs(tmp_path / "claude")

    def later() -> None:
        time.sleep(0.3)
        append(
            path,
            [claude_assistant(message_id="msg_2", request_id="req_2", at="2026-11-20T10:05:00Z", output=10)],
        )

    writer = threading.Thread(target=later)
    writer.start()
    code, out, _ = run(
        capsys,
        "--db",
        db,
        "import",
        "claude-code",
        str(tmp_path / "claude"),
        "--watch",
        "--interval",
        "0.1",
        "--cycles",
        "12",
    )
    writer.join()
    assert code == 0
    assert "stopped after 12 passes" in out
    assert "2 new events" in out
