"""`costwarden import <agent> [PATH...]` and `costwarden import all`: import coding agents' local logs.

Incremental and idempotent: each file is read from where the last import stopped, and event ids are
stable, so running it again adds nothing. `--watch` keeps following new lines. Malformed lines are
skipped and counted in the summary, never fatal.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from costwarden.cli.state import CliState, state_of
from costwarden.core.money import format_usd
from costwarden.importers.agents import AGENTS, Agent, Pass, run_passes
from costwarden.importers.common import (
    DEFAULT_MAX_LINE_BYTES,
    ImportStats,
    LineParser,
    OffsetStore,
    offsets_for,
    pending_bytes,
)
from costwarden.reports.periods import utc_iso
from costwarden.warden import Warden

__all__ = ["register", "import_app", "run_import", "import_everything"]

import_app = typer.Typer(
    name="import",
    help="Import usage from coding agents' local logs (Claude Code, Codex, Gemini CLI, Qwen Code, OpenCode, "
    "GitHub Copilot CLI, Amp).",
    no_args_is_help=True,
)

_PROGRESS_MIN_BYTES = 8 << 20


def _stats_json(stats: ImportStats, source: str) -> dict[str, Any]:
    horizon = stats.retention_horizon
    return {
        "source": source,
        "files": stats.files,
        "files_read": stats.files_read,
        "bytes_read": stats.bytes_read,
        "lines": stats.lines,
        "records": stats.records,
        "events": stats.events,
        "inserted": stats.inserted,
        "replaced": stats.replaced,
        "unchanged": stats.unchanged,
        "older_than_retention": stats.older_than_retention,
        "retention_horizon": None if horizon is None else utc_iso(horizon),
        "malformed_lines": stats.malformed,
        "cost_usd": str(stats.cost),
        "by_model": {m: {"events": n, "cost_usd": str(c)} for m, (n, c) in sorted(stats.by_model.items())},
        "malformed": [entry.as_json() for entry in stats.malformed_at],
    }


def _summary(console: Console, stats: ImportStats, source: str) -> None:
    if stats.files == 0:
        console.print(f"{source}: no log files found", markup=False)
        return
    console.print(
        f"{source}: {stats.files} files ({stats.files_read} with new lines), {stats.lines:,} new lines, "
        f"{stats.bytes_read / 1e6:,.1f} MB; {stats.inserted:,} new events, {stats.replaced:,} updated "
        f"(later snapshots), {stats.unchanged:,} already stored ({stats.records:,} records read); "
        f"ledger {'+' if stats.cost >= 0 else '-'}{format_usd(abs(stats.cost), 4)}",
        markup=False,
    )
    if stats.by_model:
        table = Table(show_edge=False, box=None)
        table.add_column("model")
        table.add_column("new events", justify="right")
        table.add_column("cost", justify="right")
        for model, (count, cost) in sorted(stats.by_model.items(), key=lambda kv: (-kv[1][1], kv[0])):
            table.add_row(model, f"{count:,}", format_usd(cost, 4))
        console.print(table)
    if stats.older_than_retention and stats.retention_horizon is not None:
        console.print(
            f"refused {stats.older_than_retention:,} events from before {utc_iso(stats.retention_horizon)}: "
            "that history is kept only as folded totals (retention), so they would never show in reports",
            markup=False,
        )
    if stats.malformed:
        console.print(f"skipped {stats.malformed:,} malformed lines, e.g.:", markup=False)
        for example in stats.malformed_at[:5]:
            console.print(f"  {example}", markup=False)


def _passes_total(passes: list[Pass], offsets: OffsetStore) -> int:
    return sum(
        pending_bytes(one.parser, one.files, offsets) for one in passes if isinstance(one.parser, LineParser)
    )


def _import_pass(
    state: CliState,
    warden: Warden,
    agent: Agent,
    roots: list[Path],
    offsets: OffsetStore,
    *,
    progress: bool,
    as_json: bool,
    batch_size: int,
    max_line_bytes: int,
) -> ImportStats:
    passes = agent.plan(roots)
    todo = _passes_total(passes, offsets)
    if not (progress and not as_json and todo >= _PROGRESS_MIN_BYTES and state.err.is_terminal):
        return run_passes(
            warden, passes, batch_size=batch_size, max_line_bytes=max_line_bytes, offsets=offsets
        )
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=state.err, transient=True) as bar:
        task = bar.add_task(f"importing {agent.name}", total=todo)

        def advance(n: int) -> None:
            bar.advance(task, n)

        return run_passes(
            warden,
            passes,
            batch_size=batch_size,
            max_line_bytes=max_line_bytes,
            offsets=offsets,
            progress=advance,
        )


def run_import(
    ctx: typer.Context,
    agent: Agent,
    paths: list[Path] | None,
    *,
    watch: bool,
    interval: float,
    cycles: int | None,
    progress: bool,
    as_json: bool,
    batch_size: int,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> None:
    state = state_of(ctx)
    missing = [str(path) for path in paths or [] if not path.exists()]
    if missing:
        raise typer.BadParameter(f"no such file or folder: {', '.join(missing)}", param_hint="PATHS")
    warden = state.warden
    roots = list(paths) if paths else agent.default_paths()
    offsets = offsets_for(warden)
    total = ImportStats()
    passes = 0
    try:
        while True:
            stats = _import_pass(
                state,
                warden,
                agent,
                roots,
                offsets,
                progress=progress,
                as_json=as_json,
                batch_size=batch_size,
                max_line_bytes=max_line_bytes,
            )
            passes += 1
            if watch and not as_json and (stats.inserted or stats.replaced or stats.malformed):
                _summary(state.console, stats, agent.name)
            total.merge(stats)
            total.files = stats.files
            if not watch or (cycles is not None and passes >= cycles):
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    if as_json:
        typer.echo(json.dumps(_stats_json(total, agent.name), indent=2))
    elif not watch:
        _summary(state.console, total, agent.name)
    else:
        state.console.print(f"stopped after {passes} passes", markup=False)
        _summary(state.console, total, agent.name)


def import_everything(
    ctx: typer.Context, *, progress: bool, as_json: bool, batch_size: int, max_line_bytes: int
) -> None:
    """Every known agent from its default locations; one summary per agent (none found is no error)."""
    state = state_of(ctx)
    warden = state.warden
    offsets = offsets_for(warden)
    results: list[tuple[str, ImportStats]] = []
    for agent in AGENTS:
        roots = agent.default_paths()
        stats = (
            _import_pass(
                state,
                warden,
                agent,
                roots,
                offsets,
                progress=progress,
                as_json=as_json,
                batch_size=batch_size,
                max_line_bytes=max_line_bytes,
            )
            if roots
            else ImportStats()
        )
        results.append((agent.name, stats))
        if not as_json:
            _summary(state.console, stats, agent.name)
    if as_json:
        total = ImportStats()
        for _, stats in results:
            total.merge(stats)
        document = {
            "agents": [_stats_json(stats, name) for name, stats in results],
            "total": _stats_json(total, "all"),
        }
        typer.echo(json.dumps(document, indent=2))


_Paths = Annotated[
    list[Path] | None,
    typer.Argument(help="Log files or folders. Default: the agent's own log folders."),
]
_Watch = Annotated[bool, typer.Option("--watch", help="Keep following new lines until interrupted (Ctrl-C).")]
_Interval = Annotated[
    float, typer.Option("--interval", min=0.05, help="Seconds between passes with --watch.")
]
_Cycles = Annotated[
    int | None, typer.Option("--cycles", min=1, hidden=True, help="Stop --watch after N passes.")
]
_NoProgress = Annotated[bool, typer.Option("--no-progress", help="No progress bar.")]
_Json = Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")]
_Batch = Annotated[int, typer.Option("--batch-size", min=1, help="Events written per transaction.")]
_MaxLine = Annotated[
    int,
    typer.Option(
        "--max-line-bytes",
        min=1024,
        help="Longest log line read; a longer one is skipped unread and counted as malformed.",
    ),
]


def _agent_command(agent: Agent) -> Callable[..., None]:
    def command(
        ctx: typer.Context,
        paths: _Paths = None,
        watch: _Watch = False,
        interval: _Interval = 2.0,
        cycles: _Cycles = None,
        no_progress: _NoProgress = False,
        as_json: _Json = False,
        batch_size: _Batch = 2000,
        max_line_bytes: _MaxLine = DEFAULT_MAX_LINE_BYTES,
    ) -> None:
        run_import(
            ctx,
            agent,
            paths,
            watch=watch,
            interval=interval,
            cycles=cycles,
            progress=not no_progress,
            as_json=as_json,
            batch_size=batch_size,
            max_line_bytes=max_line_bytes,
        )

    command.__doc__ = f"Import {agent.title} sessions ({agent.locations})."
    command.__name__ = agent.name.replace("-", "_")
    return command


for _agent in AGENTS:
    import_app.command(_agent.name)(_agent_command(_agent))


@import_app.command("all")
def import_all(
    ctx: typer.Context,
    no_progress: _NoProgress = False,
    as_json: _Json = False,
    batch_size: _Batch = 2000,
    max_line_bytes: _MaxLine = DEFAULT_MAX_LINE_BYTES,
) -> None:
    """Import every known agent's logs from its default locations (an agent without logs is skipped)."""
    import_everything(
        ctx, progress=not no_progress, as_json=as_json, batch_size=batch_size, max_line_bytes=max_line_bytes
    )


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
