"""Import speed and memory: a generated Claude Code log tree (default 1 GB) imported into a SQLite ledger,
beside ccusage on the same tree when it is installed.

    python bench/bench_import.py [--size-mb 1024] [--files 64] [--dir /tmp/costwarden-bench-import] [--keep]
                                 [--ccusage PATH]

The issue's figures use `--size-mb 512 --files 32` (510 MB, 297k lines). The log is written in Claude Code's
compact JSONL: per message a user turn with a tool result (a few KB) and three streaming snapshots of the
assistant message (the last with the final output tokens). Measured, each as a fresh process as a user
runs it (wall time and peak RSS of the process and its children):

- `ccusage daily --offline --json` (when `--ccusage` names its executable, or `ccusage` is on PATH; install
  it with `npm install ccusage@20.0.24 @ccusage/ccusage-linux-x64@20.0.24` in a folder and pass
  `--ccusage FOLDER/node_modules/.bin/ccusage`): the baseline of the first import;
- `costwarden import claude-code` of the whole tree (goal: no slower than ccusage, <= 200 MB RSS per
  process), then again (reads nothing);
- 100 new lines appended to one session, then `costwarden import claude-code` + `costwarden report --today`
  (goal: <= 150 ms together), beside `python -c pass`.

Prints both tools' totals (tokens and cost; ccusage prices with its own table, and counts the first line of
a streamed message where costwarden counts the last, so its output tokens differ) and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from costwarden.testing.agent_logs import claude_assistant, claude_user

__all__ = ["generate", "main", "measure"]

MODELS = ("claude-sonnet-4-5-20250929", "claude-opus-4-5-20251101", "claude-haiku-4-5-20251001")


def generate(root: Path, size_mb: int, files: int, seed: int = 1) -> tuple[int, int]:
    """Write about `size_mb` MB of logs under `root/projects`; returns (bytes, messages)."""
    rng = random.Random(seed)
    target = size_mb * 1_000_000
    per_file = target // files
    written = messages = 0
    filler = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz      \n{}();=") for _ in range(8000))
    for index in range(files):
        session = f"{index:08d}-0000-4000-8000-bench{seed:06d}"
        cwd = f"/home/dev/project-{index % 7}"
        path = root / "projects" / cwd.replace("/", "-") / f"{session}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        with path.open("w", encoding="utf-8") as out:
            n = 0
            while size < per_file:
                n += 1
                day, hour, minute, second = 1 + index % 28, (n // 3600) % 24, (n // 60) % 60, n % 60
                at = f"2026-11-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.000Z"
                tool_result = filler[: rng.randint(1500, 7000)]
                lines = [claude_user(session, cwd, at, text=tool_result)]
                model = MODELS[rng.randrange(len(MODELS))]
                final = rng.randint(50, 2000)
                for output in (1, final // 3, final):
                    lines.append(
                        claude_assistant(
                            message_id=f"msg_{index:04d}{n:08d}",
                            request_id=f"req_{index:04d}{n:08d}",
                            at=at,
                            output=output,
                            session=session,
                            cwd=cwd,
                            model=model,
                            input_tokens=rng.randint(1, 50),
                            cache_read=rng.randint(1000, 90000),
                            write_5m=rng.randint(0, 3000),
                        )
                    )
                block = "\n".join(lines) + "\n"
                out.write(block)
                size += len(block.encode())
                messages += 1
        written += size
    return written, messages


def _measured(command: list[str], env: dict[str, str] | None = None) -> dict[str, object]:
    """Run `command` in a child of a fresh interpreter; its wall time, peak RSS (its process tree's largest)
    and output."""
    out = subprocess.run(
        [sys.executable, __file__, "--measure", *command],
        check=False,
        capture_output=True,
        text=True,
        env=env,
    )
    if out.returncode:
        raise SystemExit(f"{command[0]} failed: {out.stderr[-2000:]}")
    result: dict[str, object] = json.loads(out.stdout)
    return result


def measure(command: list[str]) -> None:
    """`--measure`: run `command`, print its wall time, peak RSS and stdout as JSON."""
    started = time.perf_counter()
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        sys.stderr.write(done.stderr)
        raise SystemExit(done.returncode)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"seconds": seconds, "rss_mb": peak_kb / 1024, "stdout": done.stdout}))


def _ledger_totals(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT count(*), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), "
            "sum(cache_write_tokens + cache_write_1h_tokens), sum(cost_units) FROM events"
        ).fetchone()
    names = ("events", "input", "output", "cache_read", "cache_write", "cost_units")
    return dict(zip(names, (int(v or 0) for v in row), strict=True))


def _costwarden() -> list[str]:
    script = Path(sys.executable).parent / "costwarden"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "costwarden"]


def _ccusage(given: str | None) -> str | None:
    if given:
        return given
    return shutil.which("ccusage")


def _new_lines(path: Path, count: int, day: str) -> None:
    """Append `count` lines of new messages (a user turn and three streamed snapshots each) to `path`."""
    lines: list[str] = []
    session, cwd = path.stem, "/home/dev/project-0"
    n = 0
    while len(lines) < count:
        n += 1
        at = f"{day}T12:{n // 60 % 60:02d}:{n % 60:02d}.000Z"
        lines.append(claude_user(session, cwd, at, text="new tool output"))
        for output in (1, 100, 300):
            lines.append(
                claude_assistant(
                    message_id=f"msg_new_{n:06d}",
                    request_id=f"req_new_{n:06d}",
                    at=at,
                    output=output,
                    session=session,
                    cwd=cwd,
                )
            )
    with path.open("a", encoding="utf-8") as out:
        out.write("\n".join(lines[:count]) + "\n")


def _python_pass_ms(runs: int = 5) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        samples.append(time.perf_counter() - started)
    return sorted(samples)[len(samples) // 2] * 1000


def main(argv: list[str] | None = None) -> None:
    if argv is None and sys.argv[1:2] == ["--measure"]:
        measure(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--files", type=int, default=64)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/costwarden-bench-import"))
    parser.add_argument("--keep", action="store_true", help="Keep the generated logs and database.")
    parser.add_argument("--ccusage", default=None, help="ccusage executable (default: `ccusage` on PATH).")
    args = parser.parse_args(argv)
    root = args.dir
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    try:
        start = time.perf_counter()
        size, messages = generate(root / "logs", args.size_mb, args.files)
        print(
            f"generated {size / 1e6:,.0f} MB, {messages:,} messages in {args.files} files "
            f"({time.perf_counter() - start:.1f} s)"
        )
        ccusage = _ccusage(args.ccusage)
        theirs: dict[str, object] | None = None
        if ccusage is not None:
            env = {**os.environ, "CLAUDE_CONFIG_DIR": str(root / "logs")}
            theirs = _measured([ccusage, "daily", "--offline", "--json"], env)
            totals = json.loads(str(theirs["stdout"]))["totals"]
            print(
                f"ccusage: {theirs['seconds']:.2f} s, peak RSS {theirs['rss_mb']:.0f} MB; "
                f"input {totals['inputTokens']:,}, output {totals['outputTokens']:,}, cache read "
                f"{totals['cacheReadTokens']:,}, cache write {totals['cacheCreationTokens']:,}, "
                f"${totals['totalCost']:,.2f}"
            )
        else:
            print("ccusage: not installed (pass --ccusage PATH); costwarden alone")
        db = root / "ledger.db"
        command = [*_costwarden(), "--db", f"sqlite:///{db}", "import", "claude-code"]
        first = _measured([*command, str(root / "logs" / "projects"), "--no-progress", "--json"])
        seconds = float(first["seconds"])
        ours = _ledger_totals(db)
        print(
            f"costwarden import: {seconds:.2f} s = {size / 1e6 / seconds:,.1f} MB/s, "
            f"peak RSS {first['rss_mb']:.0f} MB per process (goal <= 200 MB); {ours['events']:,} events; "
            f"input {ours['input']:,}, output {ours['output']:,}, cache read {ours['cache_read']:,}, "
            f"cache write {ours['cache_write']:,}, ${ours['cost_units'] / 10**10:,.10f}"
        )
        if theirs is not None:
            ratio = seconds / float(theirs["seconds"])
            print(f"costwarden / ccusage time: {ratio:.2f} (goal <= 1.00)")
        if ours["events"] != messages:
            raise SystemExit(f"expected {messages} events in the ledger, found {ours['events']}")
        again = _measured([*command, str(root / "logs" / "projects"), "--no-progress", "--json"])
        print(
            f"re-import (nothing new): {float(again['seconds']) * 1000:.0f} ms, "
            f"{json.loads(str(again['stdout'])).get('bytes_read', '?')} bytes read"
        )
        day = "2026-11-01"
        target = sorted((root / "logs" / "projects").rglob("*.jsonl"))[0]
        _new_lines(target, 100, day)
        env = {**os.environ, "COSTWARDEN_NOW": f"{day}T18:00:00+00:00"}
        started = time.perf_counter()
        subprocess.run([*command, str(target), "--no-progress"], check=True, capture_output=True, env=env)
        imported = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run(
            [*_costwarden(), "--db", f"sqlite:///{db}", "report", "--today"],
            check=True,
            capture_output=True,
            env=env,
        )
        reported = time.perf_counter() - started
        base = _python_pass_ms()
        both = (imported + reported) * 1000
        print(
            f"100 new lines: import {imported * 1000:.0f} ms + report --today {reported * 1000:.0f} ms = "
            f"{both:.0f} ms (goal <= 150 ms); python -c pass {base:.0f} ms, ratio {both / base:.1f}"
        )
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
