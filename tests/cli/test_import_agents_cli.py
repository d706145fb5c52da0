"""`costwarden import <agent>` for every agent, and `costwarden import all` on a temporary HOME: each agent's
default location found, one summary per agent, exit 0 when an agent has no logs, idempotent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from costwarden.cli import main
from costwarden.testing.agent_logs import (
    amp_message,
    amp_thread,
    claude_assistant,
    codex_meta,
    codex_token_count,
    codex_turn_context,
    codex_usage,
    copilot_chat_span,
    gemini_message,
    gemini_meta,
    opencode_assistant,
    opencode_step_finish,
    opencode_tokens,
    qwen_assistant,
    write,
    write_opencode_db,
)

AGENT_VARIABLES = (
    "CLAUDE_CONFIG_DIR",
    "CODEX_HOME",
    "GEMINI_CLI_HOME",
    "QWEN_HOME",
    "QWEN_RUNTIME_DIR",
    "COPILOT_OTEL_FILE_EXPORTER_PATH",
)


@pytest.fixture(autouse=True)
def _no_agent_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in AGENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, _ = capsys.readouterr()
    return code, out


def seed(home: Path) -> dict[str, str]:
    """One call of each agent in its default location; the cost of each (USD, as the ledger stores it)."""
    write(
        home / ".claude" / "projects" / "-home-dev-shop" / "s.jsonl",
        [claude_assistant(message_id="msg_1", request_id="req_1", at="2026-11-20T10:00:00Z", output=300)],
    )
    write(
        home / ".codex" / "sessions" / "2026" / "11" / "20" / "rollout-a.jsonl",
        [
            codex_meta("a", "/home/dev/api", "2026-11-20T09:00:00Z"),
            codex_turn_context("gpt-5", "/home/dev/api", "2026-11-20T09:00:01Z"),
            codex_token_count("2026-11-20T09:00:02Z", last=codex_usage(5000, 3000, 400, 150), total=None),
        ],
    )
    write(
        home / ".gemini" / "tmp" / "shop" / "chats" / "session-1.jsonl",
        [
            gemini_meta("g-sess", "2026-11-20T10:00:00Z"),
            gemini_message("g1", "2026-11-20T10:00:05Z", prompt=12000, candidates=300, cached=8000),
        ],
    )
    write(
        home / ".qwen" / "projects" / "-home-dev-api" / "chats" / "q.jsonl",
        [
            qwen_assistant(
                "q1", "q", "/home/dev/api", "2026-11-20T09:00:00Z", model="gpt-5", prompt=1000, candidates=100
            )
        ],
    )
    message = opencode_assistant("msg_a1", "ses_1", created_ms=1_763_632_800_000, cost=0.0123)
    step = opencode_step_finish(
        "prt_1", "msg_a1", "ses_1", tokens=opencode_tokens(inp=1000, out=100), cost=0.0123
    )
    write_opencode_db(home / ".local" / "share" / "opencode" / "opencode.db", [message], [step])
    write(
        home / ".copilot" / "otel" / "export.jsonl",
        [
            copilot_chat_span(
                "t1", "s1", end=(1_763_632_800, 0), model="gpt-5", input_tokens=2000, output_tokens=50
            )
        ],
    )
    thread = amp_thread("T-1", [amp_message(1, "2026-11-20T10:00:05Z", inp=10, out=100, read=1000)])
    (home / ".local" / "share" / "amp" / "threads").mkdir(parents=True)
    (home / ".local" / "share" / "amp" / "threads" / "T-1.json").write_text(thread, encoding="utf-8")
    return {
        "claude-code": "0.014262",  # 4 in, 20,000 cache reads, 1,000 5m writes, 300 out on claude-sonnet-4-5
        "codex": "0.006875",  # 2,000 in, 3,000 cached, 400 out on gpt-5
        "gemini-cli": "0.009",  # 4,000 in, 8,000 cached, 300 out on gemini-2.5-pro
        "qwen-code": "0.00225",  # 1,000 in, 100 out on gpt-5
        "opencode": "0.0123",  # OpenCode's own cost
        "copilot-cli": "0.003",  # 2,000 in, 50 out on gpt-5
        "amp": "0.00183",  # 10 in, 1,000 cache reads, 100 out on claude-sonnet-4-5
    }


def test_import_all_finds_every_agent(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    expected = seed(Path.home())
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    code, out = run(capsys, "--db", db, "import", "all", "--json")
    assert code == 0
    summary = json.loads(out)
    by_agent = {entry["source"]: entry for entry in summary["agents"]}
    assert list(by_agent) == list(expected)
    assert {name: entry["cost_usd"] for name, entry in by_agent.items()} == expected
    assert all(entry["events"] == 1 and entry["malformed_lines"] == 0 for entry in by_agent.values())
    assert summary["total"]["events"] == 7
    code, out = run(capsys, "--db", db, "import", "all", "--json")
    assert code == 0 and json.loads(out)["total"]["events"] == 0  # again: nothing new
    code, out = run(capsys, "--db", db, "import", "all")
    assert code == 0
    for name in expected:
        assert f"{name}: " in out


def test_import_all_without_any_logs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = run(capsys, "--db", f"sqlite:///{tmp_path / 'cli.db'}", "import", "all")
    assert code == 0
    assert out.count("no log files found") == 7


@pytest.mark.parametrize(
    ("agent", "folder"),
    [
        ("gemini-cli", ".gemini/tmp"),
        ("qwen-code", ".qwen/projects"),
        ("opencode", ".local/share/opencode"),
        ("copilot-cli", ".copilot/otel"),
        ("amp", ".local/share/amp/threads"),
    ],
)
def test_each_agent_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, agent: str, folder: str
) -> None:
    expected = seed(Path.home())
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    code, out = run(capsys, "--db", db, "import", agent, "--json")  # default location
    assert code == 0
    summary = json.loads(out)
    assert (summary["source"], summary["events"], summary["cost_usd"]) == (agent, 1, expected[agent])
    code, out = run(capsys, "--db", db, "import", agent, str(Path.home() / folder), "--json")  # given path
    assert code == 0 and json.loads(out)["events"] == 0
    code, out = run(capsys, "--db", db, "import", agent, str(tmp_path / "missing"))
    assert code == 2
