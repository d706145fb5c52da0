"""One bad log line never stops an importer.

Poison corpora for every importer: each poison line sits between good lines in the middle of the second of
three files. Every good line before and after it, in that file and the next, is imported; the poison is
counted as malformed with its file and line; a re-run adds nothing and does not stop; lines appended later
are imported. Run on every ledger backend (a NUL byte matters on PostgreSQL).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from costwarden.cli import main
from costwarden.importers import ClaudeCodeParser, CodexParser, find_files, import_files
from costwarden.importers.common import LineParser
from costwarden.ledger import Ledger
from costwarden.testing.agent_logs import (
    append,
    claude_assistant,
    codex_meta,
    codex_token_count,
    codex_turn_context,
    codex_usage,
    compact,
    write,
)
from costwarden.warden import Warden

AT = "2026-11-20T10:{:02d}:{:02d}.000Z"


def claude_good(n: int) -> str:
    return claude_assistant(
        message_id=f"msg_{n}", request_id=f"req_{n}", at=AT.format(n // 60 % 60, n % 60), output=10 + n
    )


def _with(line: str, old: str, new: str) -> str:
    assert old in line, (old, line)
    return line.replace(old, new, 1)


def claude_poisons() -> dict[str, str]:
    base = claude_good(999)
    return {
        "huge token count": _with(base, '"output_tokens":1009', '"output_tokens":' + "9" * 40),
        "token count 2^63": _with(base, '"output_tokens":1009', f'"output_tokens":{2**63}'),
        "token count above the ceiling": _with(base, '"output_tokens":1009', f'"output_tokens":{10**15}'),
        "NaN token count": _with(base, '"output_tokens":1009', '"output_tokens":NaN'),
        "infinite token count": _with(base, '"input_tokens":4', '"input_tokens":Infinity'),
        "negative token count": _with(
            base, '"cache_read_input_tokens":20000', '"cache_read_input_tokens":-5'
        ),
        "string token count": _with(base, '"output_tokens":1009', '"output_tokens":"1009"'),
        "fractional token count": _with(base, '"output_tokens":1009', '"output_tokens":10.5'),
        "boolean token count": _with(base, '"output_tokens":1009', '"output_tokens":true'),
        "token count in a list": _with(base, '"output_tokens":1009', '"output_tokens":[1]'),
        "nested count not a number": _with(
            base, '"ephemeral_1h_input_tokens":0', '"ephemeral_1h_input_tokens":"x"'
        ),
        "timestamp after year 9999 in UTC": _with(base, AT.format(16, 39), "9999-12-31T23:59:59-05:00"),
        "timestamp before year 1 in UTC": _with(base, AT.format(16, 39), "0001-01-01T00:00:00+05:00"),
        "timestamp in year 1": _with(base, AT.format(16, 39), "0001-01-01T00:00:00Z"),
        "timestamp in year 9000": _with(base, AT.format(16, 39), "9000-01-01T00:00:00Z"),
        "lone surrogate in the message id": _with(base, '"msg_999"', '"msg_\\ud800"'),
        "lone surrogate in cwd": _with(base, '"cwd":"/home/dev/shop"', '"cwd":"/home/\\udc80"'),
        "lone surrogate in the model": _with(base, '"claude-sonnet-4-5-20250929"', '"claude-sonnet-\\udfff"'),
        "NUL in cwd": _with(base, '"cwd":"/home/dev/shop"', '"cwd":"/home/\\u0000dev"'),
        "NUL in the session": _with(base, '"sessionId":"5f0c1c9e-sess"', '"sessionId":"a\\u0000b"'),
        "NUL in the model": _with(base, '"claude-sonnet-4-5-20250929"', '"claude\\u0000"'),
        "raw NUL byte": base[:40] + "\x00" + base[40:],
        "invalid UTF-8": base.replace("Looking", "Look\xffing"),  # written as a raw 0xff byte
        "deep nesting": '{"message":{"usage":' + "[" * 100_000 + "]" * 100_000 + "}}",
        "deep nesting in usage": '{"usage":1,"a":' + '{"a":' * 50_000 + "1" + "}" * 50_000 + "}",
        "huge costUSD": base[:-1] + ',"costUSD":1e300}',
        "NaN costUSD": base[:-1] + ',"costUSD":NaN}',
        "negative costUSD": base[:-1] + ',"costUSD":-1}',
        "usage part not an object": _with(
            base,
            '"cache_creation":{"ephemeral_5m_input_tokens":1000,"ephemeral_1h_input_tokens":0}',
            '"cache_creation":[1]',
        ),
        "truncated line": base[:200],
    }


def codex_good(n: int) -> str:
    turn = codex_usage(1000 + n, 500, 50 + n, 10)
    return codex_token_count(AT.format(n // 60 % 60, n % 60), last=turn, total=None)


def codex_poisons() -> dict[str, str]:
    base = codex_good(999)
    limits = '"rate_limits":{"primary":{"used_percent":12.0,"window_minutes":300,"resets_in_seconds":3600}'
    assert limits in base

    def window(body: str) -> str:
        return base.replace(limits, '"rate_limits":{"primary":{' + body + "}")

    return {
        "huge token count": _with(base, '"output_tokens":1049', '"output_tokens":' + "9" * 40),
        "token count 2^63": _with(base, '"output_tokens":1049', f'"output_tokens":{2**63}'),
        "NaN token count": _with(base, '"output_tokens":1049', '"output_tokens":NaN'),
        "negative token count": _with(base, '"input_tokens":1999', '"input_tokens":-1'),
        "string token count": _with(base, '"output_tokens":1049', '"output_tokens":"1049"'),
        "usage block not an object": _with(base, '"last_token_usage":{', '"last_token_usage":7,"x":{'),
        "timestamp after year 9999 in UTC": _with(base, AT.format(16, 39), "9999-12-31T23:59:59-05:00"),
        "timestamp in year 1": _with(base, AT.format(16, 39), "0001-01-01T00:00:00"),
        "huge resets_at": window('"used_percent":1.0,"window_minutes":300,"resets_at":1e300'),
        "huge integer resets_at": window('"used_percent":1.0,"window_minutes":300,"resets_at":' + "9" * 30),
        "NaN resets_at": window('"used_percent":1.0,"window_minutes":300,"resets_at":NaN'),
        "negative resets_at": window('"used_percent":1.0,"window_minutes":300,"resets_at":-1e20'),
        "huge resets_in_seconds": window('"used_percent":1.0,"window_minutes":300,"resets_in_seconds":1e300'),
        "NaN resets_in_seconds": window('"used_percent":1.0,"window_minutes":300,"resets_in_seconds":NaN'),
        "infinite resets_in_seconds": window(
            '"used_percent":1.0,"window_minutes":300,"resets_in_seconds":-Infinity'
        ),
        "NaN used_percent": window('"used_percent":NaN,"window_minutes":300'),
        "huge window_minutes": window('"used_percent":1.0,"window_minutes":' + "9" * 30),
        "lone surrogate in the timestamp": _with(base, AT.format(16, 39), "2026-11-20T10:16:\\ud800"),
        "deep nesting": '{"type":"event_msg","payload":' + "[" * 100_000 + "]" * 100_000 + "}",
        "raw NUL byte": base[:30] + "\x00" + base[30:],
        "invalid UTF-8": "\xff" + base,  # written as a raw 0xff byte
        "truncated line": base[:100],
    }


def codex_header(session: str) -> list[str]:
    return [
        codex_meta(session, "/home/dev/api", AT.format(0, 0)),
        codex_turn_context("gpt-5", "/home/dev/api", AT.format(0, 0)),
    ]


def codex_poison_header() -> dict[str, list[str]]:
    """Poisons in the lines that carry no usage (kept out of the alternating corpus)."""
    return {
        "NUL in the cwd of session_meta": [
            _with(codex_meta("s", "/home/dev/api", AT.format(0, 0)), "/home/dev/api", "/home/\\u0000")
        ],
        "lone surrogate in the model": [
            _with(codex_turn_context("gpt-5", "/d", AT.format(0, 0)), '"gpt-5"', '"gpt-\\udc00"')
        ],
    }


Importer = tuple[
    Callable[[], LineParser], Callable[[int], str], Callable[[], dict[str, str]], Callable[[str], list[str]]
]

IMPORTERS: dict[str, Importer] = {
    "claude-code": (ClaudeCodeParser, claude_good, claude_poisons, lambda session: []),
    "codex": (CodexParser, codex_good, codex_poisons, codex_header),
}


def put(path: Path, lines: list[str], *, mode: str = "wb") -> None:
    """Write lines as UTF-8, except that U+00FF stands for a raw 0xff byte (invalid UTF-8)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(line + "\n" for line in lines).encode("utf-8").replace(b"\xc3\xbf", b"\xff")
    with path.open(mode) as handle:
        handle.write(data)


def corpus(root: Path, name: str, poisons: dict[str, str]) -> tuple[list[str], int, list[int]]:
    """Three files: 5 good lines; good and poison lines alternating; 5 good lines. Returns the poison
    names, the number of good usage lines, and the line numbers of the poisons in file 2."""
    _, good, _, header = IMPORTERS[name]
    n = 0
    lines1 = header("one")
    for _ in range(5):
        n += 1
        lines1.append(good(n))
    lines2 = header("two")
    poison_lines: list[int] = []
    for index, poison in enumerate(poisons.values()):
        n += 1
        lines2.append(good(n))
        lines2.append(poison.replace('"msg_999"', f'"msg_p{index}"'))  # distinct ids
        poison_lines.append(len(lines2))
    n += 1
    lines2.append(good(n))
    lines3 = header("three")
    for _ in range(5):
        n += 1
        lines3.append(good(n))
    put(root / "1.jsonl", lines1)
    put(root / "2.jsonl", lines2)
    put(root / "3.jsonl", lines3)
    return list(poisons), n, poison_lines


@pytest.mark.parametrize("name", list(IMPORTERS))
def test_poison_lines_are_counted_and_every_good_line_is_imported(
    name: str, tmp_path: Path, ledger: Ledger
) -> None:
    parser, good, poisons, _ = IMPORTERS[name]
    names, good_lines, at = corpus(tmp_path, name, poisons())
    warden = Warden(ledger=ledger)
    stats = import_files(warden, parser(), find_files([tmp_path]))
    where = sorted((entry.file, entry.line) for entry in stats.malformed_at)  # write-time refusals last
    assert where == [(str(tmp_path / "2.jsonl"), line) for line in at], names
    assert stats.malformed == len(names)
    (total,) = ledger.totals()
    assert total.events == good_lines
    # a re-run reads nothing and stops nowhere; lines appended after the poison are imported
    again = import_files(warden, parser(), find_files([tmp_path]))
    assert (again.lines, again.malformed, again.events) == (0, 0, 0)
    put(tmp_path / "2.jsonl", [good(500), *poisons().values(), good(501)], mode="ab")
    later = import_files(warden, parser(), find_files([tmp_path]))
    assert (later.events, later.malformed) == (2, len(names))
    assert ledger.totals()[0].events == good_lines + 2


@pytest.mark.parametrize("name", list(IMPORTERS))
def test_each_poison_alone(name: str, tmp_path: Path) -> None:
    from costwarden.ledger import MemoryLedger

    parser, good, poisons, header = IMPORTERS[name]
    for index, (label, poison) in enumerate(poisons().items()):
        root = tmp_path / str(index)
        put(root / "a.jsonl", [*header("a"), good(1), poison, good(2)])
        ledger = MemoryLedger()
        stats = import_files(Warden(ledger=ledger), parser(), find_files([root]))
        assert stats.malformed == 1, label
        assert stats.malformed_at[0].line == len(header("a")) + 2, label
        assert ledger.totals()[0].events == 2, label


def test_codex_poison_in_lines_without_usage(tmp_path: Path) -> None:
    from costwarden.ledger import MemoryLedger

    for index, (label, lines) in enumerate(codex_poison_header().items()):
        root = tmp_path / str(index)
        write(root / "a.jsonl", [*lines, codex_good(1)])
        ledger = MemoryLedger()
        stats = import_files(Warden(ledger=ledger), CodexParser(), find_files([root]))
        assert [entry.line for entry in stats.malformed_at] == [1], label
        assert ledger.totals()[0].events == 1, label


def test_a_rate_limit_poison_does_not_reach_the_quota(tmp_path: Path) -> None:
    from costwarden.ledger import MemoryLedger

    put(tmp_path / "a.jsonl", [codex_good(1), *codex_poisons().values(), codex_good(2)])
    warden = Warden(ledger=MemoryLedger())
    import_files(warden, CodexParser(), find_files([tmp_path]))
    quota = warden.quotas.latest("codex")
    assert quota is not None and quota.observed_at.second == 2


def test_an_over_long_line_is_skipped_and_counted(tmp_path: Path, ledger: Ledger) -> None:
    long_line = compact({"type": "user", "message": {"content": "x" * 300_000}})
    write(
        tmp_path / "a.jsonl",
        [
            claude_good(1),
            long_line,
            claude_good(2),
            "y" * 5000,
            claude_good(3),
            long_line * 8,
            claude_good(4),
        ],
    )
    stats = import_files(
        Warden(ledger=ledger), ClaudeCodeParser(), find_files([tmp_path]), max_line_bytes=4096
    )
    assert [entry.line for entry in stats.malformed_at] == [2, 4, 6]
    assert "longer than 4,096" in stats.malformed_at[0].reason
    assert "300,0" in stats.malformed_at[0].reason
    assert ledger.totals()[0].events == 4
    assert import_files(Warden(ledger=ledger), ClaudeCodeParser(), find_files([tmp_path])).lines == 0


def test_an_unterminated_over_long_line_waits_for_its_end(tmp_path: Path) -> None:
    from costwarden.ledger import MemoryLedger

    path = tmp_path / "a.jsonl"
    path.write_text(claude_good(1) + "\n" + "z" * (3 << 20))
    ledger = MemoryLedger()
    warden = Warden(ledger=ledger)
    first = import_files(warden, ClaudeCodeParser(), find_files([tmp_path]), max_line_bytes=1 << 20)
    assert (first.lines, first.malformed) == (1, 0)
    append(path, ["", claude_good(2)])
    second = import_files(warden, ClaudeCodeParser(), find_files([tmp_path]), max_line_bytes=1 << 20)
    assert (second.lines, second.malformed, second.events) == (2, 1, 1)


def test_an_unreadable_file_is_counted_and_the_next_files_are_imported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from costwarden.ledger import MemoryLedger

    write(tmp_path / "1.jsonl", [claude_good(1)])
    (tmp_path / "2.jsonl").symlink_to("/proc/self/mem")  # every read fails: EIO
    write(tmp_path / "3.jsonl", [claude_good(2)])
    ledger = MemoryLedger()
    with caplog.at_level(logging.WARNING, logger="costwarden.importers"):
        stats = import_files(Warden(ledger=ledger), ClaudeCodeParser(), find_files([tmp_path]))
    assert stats.malformed == 1
    (entry,) = stats.malformed_at
    assert entry.file == str(tmp_path / "2.jsonl") and "Input/output error" in entry.reason
    assert ledger.totals()[0].events == 2
    assert any(str(tmp_path / "2.jsonl") in record.getMessage() for record in caplog.records)


def test_json_lists_file_and_line_and_watch_survives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    logs = tmp_path / "logs"
    poisons = claude_poisons()
    write(logs / "a.jsonl", [claude_good(1), poisons["huge token count"], claude_good(2)])
    write(logs / "b.jsonl", [claude_good(3), poisons["NUL in cwd"]])
    code = main(["--db", db, "import", "claude-code", str(logs), "--json"])
    out, _ = capsys.readouterr()
    assert code == 0
    summary = json.loads(out)
    assert summary["events"] == 3 and summary["malformed_lines"] == 2
    assert [(m["file"], m["line"]) for m in summary["malformed"]] == [
        (str(logs / "a.jsonl"), 2),
        (str(logs / "b.jsonl"), 2),
    ]
    assert "output_tokens" in summary["malformed"][0]["reason"]
    assert "NUL" in summary["malformed"][1]["reason"]
    append(logs / "b.jsonl", [poisons["timestamp in year 1"], claude_good(4)])
    code = main(
        ["--db", db, "import", "claude-code", str(logs), "--watch", "--interval", "0.05", "--cycles", "2"]
    )
    out, _ = capsys.readouterr()
    assert code == 0 and "stopped after 2 passes" in out
    assert "1 new events" in out and "b.jsonl:3" in out
