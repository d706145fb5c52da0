"""`costwarden statusline` and `costwarden report --today` on a ledger of 1M events, against a bare Python
start in the same run.

    python bench/bench_statusline.py [--events 1000000] [--runs 20] [--keep DIR]

Builds a SQLite ledger of `--events` events once (the generator of `bench_reports.py`: a year of a fleet of
agents; with `--keep DIR` the ledger is kept there and reused by later runs), a config with four budgets
(a global day, a month per project, a rolling 5 hours of requests, a total per session) and a Claude Code
transcript of 200 lines for one session of one of the ledger's projects. Then, as fresh processes fed Claude
Code's statusline JSON on stdin, interleaved round by round for `--runs` rounds:

- `python -c pass`: the interpreter alone (the baseline);
- `statusline (nothing new)`: the transcript is imported already (the warm case: the fast way);
- `statusline (1 new line)`: one line appended to the transcript before each run (import, then every figure
  from the Warden and the budget views: the full way);
- `report --today`: today's report with the same config (its four budgets, one of them per session).

Prints the median in milliseconds and the ratio to the baseline, and checks that the fast way prints
exactly what the full way prints. The goals: statusline <= 100 ms warm and with new lines, `report
--today` <= 250 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_reports import load_sqlite
from costwarden.ledger import open_ledger
from costwarden.testing.agent_logs import append, claude_assistant, write

__all__ = ["main"]

NOW = datetime(2026, 10, 31, 18, 0, tzinfo=UTC)  # the generated year ends on 2026-11-01
SESSION = f"bench-{uuid.uuid4().hex[:12]}"  # each run its own (a kept ledger holds the earlier runs')
CONFIG = """\
budgets:
  - id: daily
    name: Daily
    period: day
    cost_usd: 5000
  - id: project-month
    name: Project month
    scope: project
    period: month
    cost_usd: 20000
  - id: five-hours
    name: 5h requests
    period: {rolling: 5h}
    requests: 100000
  - id: session-total
    name: Session
    scope: session
    period: total
    cost_usd: 50
"""


def _ledger(directory: Path, n: int) -> Path:
    path = directory / f"statusline-{n}.db"
    if path.exists():
        with sqlite3.connect(path) as conn:
            (count,) = conn.execute("SELECT count(*) FROM events WHERE agent != 'claude-code'").fetchone()
        if count == n:
            print(f"reusing {path} ({n:,} events)", file=sys.stderr)
            return path
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    open_ledger(f"sqlite:///{path}").close()
    seconds = load_sqlite(path, n)
    print(f"loaded {n:,} events in {seconds:.0f} s", file=sys.stderr)
    return path


def _line(i: int) -> str:
    at = NOW - timedelta(minutes=200 - i // 2)
    return claude_assistant(
        message_id=f"msg_{SESSION}_{i:06d}",
        request_id=f"req_{SESSION}_{i:06d}",
        at=at.isoformat().replace("+00:00", "Z"),
        session=SESSION,
        cwd="/home/dev/project-03",
        output=200 + i,
    )


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", type=Path, default=None, help="keep (and reuse) the ledger in this folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cw-statusline-"))
    keep = args.keep or work
    keep.mkdir(parents=True, exist_ok=True)
    try:
        db = _ledger(keep, args.events)
        config = work / "config.yaml"
        config.write_text(CONFIG)
        transcript = write(work / "projects" / "-home-dev-project-03" / f"{SESSION}.jsonl", [])
        append(transcript, [_line(i) for i in range(200)])
        env = {
            **os.environ,
            "COSTWARDEN_NOW": NOW.isoformat(),
            "XDG_CACHE_HOME": str(work / "cache"),
            "XDG_CONFIG_HOME": str(work / "config"),
        }
        payload = json.dumps(
            {
                "session_id": SESSION,
                "transcript_path": str(transcript),
                "cwd": "/home/dev/project-03",
                "model": {"id": "claude-sonnet-4-5-20250929", "display_name": "Sonnet 4.5"},
                "workspace": {"current_dir": "/home/dev/project-03", "project_dir": "/home/dev/project-03"},
                "version": "2.1.80",
                "cost": {"total_cost_usd": 1.25, "total_duration_ms": 600000},
                "rate_limits": {"five_hour": {"used_percentage": 24, "resets_at": 1793500000}},
            }
        )
        script = Path(sys.executable).parent / "costwarden"  # the console script, as Claude Code runs it
        program = [str(script)] if script.is_file() else [sys.executable, "-m", "costwarden"]
        command = [*program, "--db", f"sqlite:///{db}", "--config", str(config)]
        statusline = [*command, "statusline", "--no-color"]

        def line() -> str:
            done = subprocess.run(
                statusline, check=False, input=payload, env=env, capture_output=True, text=True
            )
            if done.returncode:
                raise SystemExit(f"statusline failed: {done.stderr}")
            return done.stdout

        started = time.perf_counter()
        first = line()
        first_s = time.perf_counter() - started
        print(f"first run (imports 200 lines): {first_s * 1000:.0f} ms: {first.strip()}", file=sys.stderr)
        fast = line()
        shutil.rmtree(work / "cache", ignore_errors=True)
        full = line()
        assert fast == full, f"the fast way printed {fast!r}, the full way {full!r}"
        times: dict[str, list[float]] = {
            "python -c pass": [],
            "statusline (nothing new)": [],
            "statusline (1 new line)": [],
            "report --today": [],
        }
        for round_no in range(args.runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True, capture_output=True)
            times["python -c pass"].append(time.perf_counter() - started)
            started = time.perf_counter()
            line()
            times["statusline (nothing new)"].append(time.perf_counter() - started)
            append(transcript, [_line(200 + round_no)])
            started = time.perf_counter()
            line()
            times["statusline (1 new line)"].append(time.perf_counter() - started)
            started = time.perf_counter()
            subprocess.run([*command, "report", "--today"], check=True, env=env, capture_output=True)
            times["report --today"].append(time.perf_counter() - started)
        final = line()
        base = _median_ms(times["python -c pass"])
        print(f"ledger: {args.events:,} events; last line: {final.strip()}")
        print(f"{'command':<28}{'median ms':>12}{'x baseline':>12}")
        for name, samples in times.items():
            median = _median_ms(samples)
            print(f"{name:<28}{median:>12.1f}{median / base:>12.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
