"""Import speed and memory: a generated Claude Code log tree (default 1 GB) imported into a SQLite ledger.

    python bench/bench_import.py [--size-mb 1024] [--files 64] [--dir /tmp/costwarden-bench-import] [--keep]

The log is written in Claude Code's compact JSONL: per message a user turn with a tool result (a few KB)
and three streaming snapshots of the assistant message (the last with the final output tokens). The
import runs in a child process, so its peak RSS is its own; the figures are MB/s of log read and the
child's peak RSS (goal: constant memory, <= 200 MB whatever the size). A second run checks that
re-importing reads nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from costwarden.testing.agent_logs import claude_assistant, claude_user

__all__ = ["generate", "main"]

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


def _child(root: Path, db: Path) -> None:
    from costwarden.importers import ClaudeCodeParser, find_files, import_files
    from costwarden.storage.sql.ledger import open_ledger
    from costwarden.warden import Warden

    with open_ledger(f"sqlite:///{db}") as ledger, Warden(ledger=ledger) as warden:
        runs = []
        for _ in range(2):
            start = time.perf_counter()
            stats = import_files(warden, ClaudeCodeParser(), find_files([root]), batch_size=5000)
            runs.append(
                {
                    "seconds": time.perf_counter() - start,
                    "bytes": stats.bytes_read,
                    "lines": stats.lines,
                    "events": stats.events,
                    "malformed": stats.malformed,
                    "cost": str(stats.cost),
                }
            )
        (total,) = ledger.totals()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"runs": runs, "ledger_events": total.events, "peak_rss_mb": peak_kb / 1024}))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--files", type=int, default=64)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/costwarden-bench-import"))
    parser.add_argument("--keep", action="store_true", help="Keep the generated logs and database.")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child)
        return
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
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(root / "logs"), str(root / "ledger.db")],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        first, second = result["runs"]
        print(
            f"import: {first['bytes'] / 1e6:,.0f} MB in {first['seconds']:.1f} s = "
            f"{first['bytes'] / 1e6 / first['seconds']:,.1f} MB/s; {first['lines']:,} lines, "
            f"{first['events']:,} events recorded ({result['ledger_events']:,} in the ledger), "
            f"{first['malformed']} malformed, ${first['cost']}"
        )
        print(
            f"re-import: {second['bytes']} bytes read, {second['events']} events in {second['seconds']:.2f} s"
        )
        print(f"peak RSS of the importing process: {result['peak_rss_mb']:.0f} MB (goal <= 200 MB)")
        if result["ledger_events"] != messages:
            raise SystemExit(f"expected {messages} events in the ledger, found {result['ledger_events']}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
