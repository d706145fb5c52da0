"""`costwarden statusline`: Claude Code's stdin JSON, incremental import with the offsets `import claude-code`
keeps, budgets and their colours, templates, bad input, and the fast way printing what the full way does."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from costwarden.cli import main
from costwarden.statusline.fast import fast_figures
from costwarden.statusline.payload import parse_payload
from costwarden.statusline.snapshot import Identity, snapshot_path
from costwarden.testing.agent_logs import append, claude_assistant, write

NOW = "2026-11-20T12:00:00Z"
SESSION = "5f0c1c9e-sess"
EVENT_COST = "0.014262"  # one line below: 4 input, 20000 cache reads, 1000 5m writes, 300 output (Sonnet 4.5)
GREEN, YELLOW, RED = "\x1b[32m", "\x1b[33m", "\x1b[31m"
CONSOLE_SCRIPT = Path(sys.executable).parent / "costwarden"


def line(n: int, *, at: str = "2026-11-20T10:00:00Z", session: str = SESSION, sidechain: bool = False) -> str:
    return claude_assistant(
        message_id=f"msg_{session}_{n}",
        request_id=f"req_{session}_{n}",
        at=at,
        output=300,
        session=session,
        sidechain=sidechain,
    )


def payload(transcript: Path | None, *, session: str = SESSION, **extra: Any) -> str:
    """What Claude Code writes on the statusline command's stdin (v2.1)."""
    data: dict[str, Any] = {
        "hook_event_name": "Status",
        "session_id": session,
        "transcript_path": str(transcript) if transcript else None,
        "cwd": "/home/dev/shop",
        "model": {"id": "claude-sonnet-4-5-20250929", "display_name": "Sonnet 4.5"},
        "workspace": {"current_dir": "/home/dev/shop", "project_dir": "/home/dev/shop"},
        "version": "2.1.80",
        "output_style": {"name": "default"},
        "cost": {
            "total_cost_usd": 0.0285,
            "total_duration_ms": 60000,
            "total_api_duration_ms": 20000,
            "total_lines_added": 12,
            "total_lines_removed": 3,
        },
        "context_window": {
            "total_input_tokens": 15234,
            "total_output_tokens": 4521,
            "context_window_size": 200000,
        },
        "exceeds_200k_tokens": False,
        "rate_limits": {
            "five_hour": {"used_percentage": 23.5, "resets_at": 1795000000},
            "seven_day": {"used_percentage": 81.2, "resets_at": 1795500000},
        },
    }
    data.update(extra)
    return json.dumps(data)


@pytest.fixture(autouse=True)
def _now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSTWARDEN_NOW", NOW)
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture
def transcript(tmp_path: Path) -> Path:
    return write(tmp_path / "claude" / "projects" / "-home-dev-shop" / f"{SESSION}.jsonl", [line(1), line(2)])


def statusline(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, stdin: str, *args: str
) -> tuple[int, str, str]:
    """Through the app (`costwarden.cli.main`), stdin given."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def console(stdin: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Through the console script (its own fast dispatch), as Claude Code runs it."""
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *args],
        check=False,
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def config(tmp_path: Path, budgets: str) -> str:
    path = tmp_path / "costwarden.yaml"
    path.write_text("budgets:\n" + budgets)
    return str(path)


def test_claude_code_stdin_prints_session_today_and_model(
    sqlite_url: str, transcript: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    done = console(payload(transcript), "--db", sqlite_url, "statusline", "--no-color")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Sonnet 4.5 | session $0.03 | today $0.03 | 5h 24% · 7d 81%\n"
    # the same line through the app, and again from the fast way
    code, out, _ = statusline(
        capsys, monkeypatch, payload(transcript), "--db", sqlite_url, "statusline", "--no-color"
    )
    assert (code, out) == (0, done.stdout)
    assert console(payload(transcript), "statusline", "--db", sqlite_url, "--no-color").stdout == done.stdout


def test_imports_only_new_lines_and_shares_offsets_with_import(
    sqlite_url: str, transcript: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fmt = ("--format", "{session}|{today}")
    assert statusline(capsys, monkeypatch, payload(transcript), "--db", sqlite_url, "statusline", *fmt)[
        1
    ] == ("$0.03|$0.03\n")
    # `import claude-code` afterwards reads nothing of this transcript again
    code, out, _ = statusline(
        capsys, monkeypatch, "", "--db", sqlite_url, "import", "claude-code", str(transcript.parent), "--json"
    )
    assert code == 0 and json.loads(out)["lines"] == 0 and json.loads(out)["events"] == 0
    append(transcript, [line(3), line(4)])
    # the import takes the new lines; the statusline then has nothing left to import and shows them
    code, out, _ = statusline(
        capsys, monkeypatch, "", "--db", sqlite_url, "import", "claude-code", str(transcript.parent), "--json"
    )
    assert json.loads(out)["lines"] == 2 and json.loads(out)["events"] == 2
    assert statusline(capsys, monkeypatch, payload(transcript), "--db", sqlite_url, "statusline", *fmt)[
        1
    ] == ("$0.06|$0.06\n")
    append(transcript, [line(5)])
    assert statusline(capsys, monkeypatch, payload(transcript), "--db", sqlite_url, "statusline", *fmt)[
        1
    ] == ("$0.07|$0.07\n")
    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        position, lines = conn.execute(
            "SELECT position, lines FROM import_offsets WHERE source = 'claude-code' AND path = ?",
            (str(transcript.resolve()),),
        ).fetchone()
        (events,) = conn.execute("SELECT count(*) FROM events").fetchone()
    assert (position, lines, events) == (transcript.stat().st_size, 5, 5)


def test_subagent_sidechains_of_the_session_are_imported(
    sqlite_url: str, transcript: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(transcript.with_suffix("") / "subagents" / "agent-1.jsonl", [line(10, sidechain=True)])
    out = statusline(
        capsys, monkeypatch, payload(transcript), "--db", sqlite_url, "statusline", "--format", "{session}"
    )[1]
    assert out == "$0.04\n"  # 3 x $0.014262


def test_the_fast_way_prints_what_the_full_way_prints(
    sqlite_url: str,
    transcript: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    budgets = {
        "day": "  - {id: day, name: Day, period: day, cost_usd: 0.1}\n",
        "rolling": "  - {id: r, name: Recent, period: {rolling: 5h}, requests: 3}\n",
        "project": "  - {id: p, scope: project, period: month, tokens: 100000}\n",
        "tag": "  - {id: t, name: Main, where: {'tag:git_branch': main}, period: week, cost_usd: 0.05}\n",
        "session": "  - {id: s, name: Session, scope: session, period: total, cost_usd: 0.04}\n",
        "model": "  - {id: m, name: Sonnet, scope: model, value: claude-sonnet-4-5, period: day, "
        "cost_usd: 0.2}\n",
        "other": "  - {id: o, name: Other, where: {project: elsewhere}, period: day, cost_usd: 0.001}\n",
    }
    expected = {
        "day": "Day: $0.03/$0.10 (28%)",
        "rolling": "Recent: 2/3 requests (67%)",
        "project": "p [project=shop]: 42.6K/100K tokens (43%)",
        "tag": "Main: $0.03/$0.05 (57%)",
        "session": f"Session [session={SESSION}]: $0.03/$0.04 (71%)",
        "model": "Sonnet: $0.03/$0.20 (14%)",
        "other": "",  # does not count this session
    }
    for name, budget in budgets.items():
        conf = config(tmp_path, budget)
        args = ("--db", sqlite_url, "--config", conf, "statusline", "--no-color", "--format", "{budget}")
        full = statusline(capsys, monkeypatch, payload(transcript), *args)[1]
        assert full == expected[name] + "\n", name
        identity = Identity.of(sqlite_url, conf, SESSION)
        assert snapshot_path(identity).is_file()
        figures = fast_figures(
            parse_payload(payload(transcript)) or pytest.fail(), identity, conf, str(transcript), _now_us()
        )
        assert figures is not None, name
        assert statusline(capsys, monkeypatch, payload(transcript), *args)[1] == full, name
        snapshot_path(identity).unlink()
        assert statusline(capsys, monkeypatch, payload(transcript), *args)[1] == full, name


def _now_us() -> int:
    from costwarden.clock import parse_now
    from costwarden.storage.codec import to_micros

    return to_micros(parse_now(NOW))


def test_the_snapshot_gives_way_to_new_lines_config_budgets_and_days(
    sqlite_url: str,
    transcript: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = config(tmp_path, "  - {id: day, name: Day, period: day, cost_usd: 0.1}\n")
    args = ("--db", sqlite_url, "--config", conf, "statusline", "--no-color", "--format", "{today} {budget}")

    def shown() -> str:
        return statusline(capsys, monkeypatch, payload(transcript), *args)[1].strip()

    assert shown() == "$0.03 Day: $0.03/$0.10 (28%)"
    # another agent records into the ledger: read again, even without new transcript lines
    assert (
        main(
            [
                "--db",
                sqlite_url,
                "record",
                "--provider",
                "openai",
                "--model",
                "gpt-4o",
                "--input-tokens",
                "4000",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert shown() == "$0.04 Day: $0.04/$0.10 (38%)"
    # the config changes
    Path(conf).write_text("budgets:\n  - {id: day, name: Day, period: day, cost_usd: 0.2}\n")
    assert shown() == "$0.04 Day: $0.04/$0.20 (19%)"
    # a budget set from the CLI
    assert (
        main(["--db", sqlite_url, "budget", "set", "--id", "cli", "--period", "day", "--limit", "0.05"]) == 0
    )
    capsys.readouterr()
    assert shown().endswith("cli: $0.04/$0.05 (77%)")
    # a new day
    monkeypatch.setenv("COSTWARDEN_NOW", "2026-11-21T00:00:01Z")
    assert shown() == "$0.00 Day: $0.00/$0.20 (0%)"  # ties: by name


@pytest.mark.parametrize(
    ("limit", "colour"),
    [("1", GREEN), ("0.05", YELLOW), ("0.03", RED), ("0.02", RED)],
    ids=["below-50", "past-50", "past-95", "exhausted"],
)
def test_budget_colours_follow_thresholds(
    limit: str,
    colour: str,
    sqlite_url: str,
    transcript: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = config(tmp_path, f"  - {{id: day, name: Day, period: day, cost_usd: {limit}}}\n")
    out = statusline(
        capsys,
        monkeypatch,
        payload(transcript),
        "--db",
        sqlite_url,
        "--config",
        conf,
        "statusline",
        "--format",
        "{budget_percent}",
    )[1]
    assert out.startswith(colour) and out.endswith("\x1b[0m\n")


def test_own_thresholds_and_plain_output(
    sqlite_url: str,
    transcript: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = config(tmp_path, "  - {id: day, name: Day, period: day, cost_usd: 0.05, thresholds: [90]}\n")
    args = (
        "--db",
        sqlite_url,
        "--config",
        conf,
        "statusline",
        "--format",
        "{budget} {five_hour} {seven_day}",
    )
    out = statusline(capsys, monkeypatch, payload(transcript), *args)[1]
    assert out == f"{GREEN}Day: $0.03/$0.05 (57%)\x1b[0m {GREEN}5h 24%\x1b[0m {RED}7d 81%\x1b[0m\n"
    assert statusline(capsys, monkeypatch, payload(transcript), *args, "--no-color")[1] == (
        "Day: $0.03/$0.05 (57%) 5h 24% 7d 81%\n"
    )
    monkeypatch.setenv("NO_COLOR", "1")
    assert (
        statusline(capsys, monkeypatch, payload(transcript), *args)[1]
        == "Day: $0.03/$0.05 (57%) 5h 24% 7d 81%\n"
    )
    assert "\x1b" not in console(payload(transcript), *args, env={"NO_COLOR": "1"}).stdout


def test_template_fields(
    sqlite_url: str, transcript: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    template = "[{model}] {session_id}: {session} (Claude Code says {claude_cost}) today {today} {{literal}}"
    out = statusline(
        capsys, monkeypatch, payload(transcript), "--db", sqlite_url, "statusline", "--format", template
    )[1]
    assert out == f"[Sonnet 4.5] {SESSION}: $0.03 (Claude Code says $0.03) today $0.03 {{literal}}\n"


def test_without_stdin_for_prompts_and_tmux(
    sqlite_url: str, transcript: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    main(["--db", sqlite_url, "import", "claude-code", str(transcript.parent)])
    capsys.readouterr()
    assert statusline(capsys, monkeypatch, "", "--db", sqlite_url, "statusline")[1] == "today $0.03\n"
    out = statusline(
        capsys,
        monkeypatch,
        "",
        "--db",
        sqlite_url,
        "statusline",
        "--session",
        SESSION,
        "--format",
        "{session}",
    )[1]
    assert out == "$0.03\n"
    done = console(
        "", "--db", sqlite_url, "statusline", "--session", "nobody", "--format", "{session}|{today}"
    )
    assert (done.returncode, done.stdout) == (0, "$0.00|$0.03\n")
    # --no-import reads the ledger only
    append(transcript, [line(3)])
    out = statusline(
        capsys,
        monkeypatch,
        payload(transcript),
        "--db",
        sqlite_url,
        "statusline",
        "--no-import",
        "--format",
        "{session}",
    )[1]
    assert out == "$0.03\n"


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("{oops", "statusline JSON on stdin: not JSON (Expecting property name enclosed in double quotes"),
        ("[1, 2]", "statusline JSON on stdin: expected a JSON object, got an array"),
        ('{"session_id": 42}', "statusline JSON on stdin: session_id: expected a string, got a number (42)"),
        ('{"model": "opus"}', "statusline JSON on stdin: model: expected an object, got a string"),
        ('{"transcript_path": ["a"]}', "transcript_path: expected a string, got an array"),
        (
            '{"cost": {"total_cost_usd": "1.5"}}',
            'cost.total_cost_usd: expected a number, got a string ("1.5")',
        ),
        ('{"cost": {"total_cost_usd": -1}}', "cost.total_cost_usd: expected a non-negative number, got -1"),
        (
            '{"rate_limits": {"five_hour": {"used_percentage": true}}}',
            "rate_limits.five_hour.used_percentage: expected a number, got a boolean",
        ),
    ],
)
def test_bad_input_exits_2_naming_the_field(
    stdin: str,
    message: str,
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = statusline(capsys, monkeypatch, stdin, "--db", sqlite_url, "statusline")
    assert (code, out) == (2, "")
    assert err.startswith("costwarden: invalid input: ") and message in err
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()  # nothing written


def test_bad_input_through_the_console_script(sqlite_url: str) -> None:
    done = console('{"session_id": 42}', "--db", sqlite_url, "statusline")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        "costwarden: invalid input: statusline JSON on stdin: "
        "session_id: expected a string, got a number (42)\n"
    )
    done = console("", "--db", sqlite_url, "statusline", "--format", "{nope}")
    assert done.returncode == 2
    assert done.stderr.startswith(
        "costwarden: invalid input: --format: unknown field {nope} (fields: session,"
    )
    done = console("", "--db", sqlite_url, "statusline", "--format", "{session")
    assert done.returncode == 2 and "--format: " in done.stderr
    # options it does not know go to the app, which explains
    done = console("", "--db", sqlite_url, "statusline", "--colour")
    assert done.returncode == 2 and "No such option: --colour" in done.stderr


def test_bad_configuration_exits_2(
    sqlite_url: str,
    transcript: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = config(tmp_path, "  - {id: day, period: day, cost_usd: -5}\n")
    code, out, err = statusline(
        capsys, monkeypatch, payload(transcript), "--db", sqlite_url, "--config", conf, "statusline"
    )
    assert code == 2 and out == ""
    assert err.startswith("costwarden: configuration error: ") and "budgets[0]" in err


def test_the_fast_way_loads_no_heavy_module(
    sqlite_url: str,
    transcript: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = config(tmp_path, "  - {id: day, name: Day, period: day, cost_usd: 0.1}\n")
    args = ["--db", sqlite_url, "--config", conf, "statusline", "--no-color"]
    first = statusline(capsys, monkeypatch, payload(transcript), *args)[1]
    probe = (
        "import sys\n"
        f"sys.argv = ['costwarden', *{args!r}]\n"
        "from costwarden.cli.entry import run\n"
        "try:\n"
        "    run()\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "heavy = ('sqlalchemy', 'pydantic', 'typer', 'rich', 'yaml', 'genai_prices', 'costwarden.warden')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], input=payload(transcript), capture_output=True, text=True, check=True
    )
    assert done.stdout == first + "[]\n"


def test_snapshots_unused_for_a_day_are_removed(
    sqlite_url: str, transcript: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ("--db", sqlite_url, "statusline")
    statusline(capsys, monkeypatch, payload(transcript, session="old"), *args)
    old = snapshot_path(Identity.of(sqlite_url, None, "old"))
    recent = snapshot_path(Identity.of(sqlite_url, None, SESSION))
    day_ago = old.stat().st_mtime - 86400 - 60
    os.utime(old, (day_ago, day_ago))
    statusline(capsys, monkeypatch, payload(transcript), *args)
    assert recent.is_file() and not old.exists()


def test_a_relative_database_is_read_from_the_working_directory(
    tmp_path: Path, transcript: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    args = ("--db", "costs.db", "statusline", "--format", "{today}")
    monkeypatch.chdir(tmp_path / "a")
    assert statusline(capsys, monkeypatch, payload(transcript), *args)[1] == "$0.03\n"
    monkeypatch.chdir(tmp_path / "b")
    assert statusline(capsys, monkeypatch, payload(None), *args)[1] == "$0.00\n"
    assert statusline(capsys, monkeypatch, payload(None), *args)[1] == "$0.00\n"  # the fast way
