"""`costwarden statusline`: one line for Claude Code's status bar, a shell prompt or tmux.

The console script runs it without loading this app (`costwarden.statusline.command`); this module gives it
its place in `--help` and the CLI reference, and runs it the same way when called through the app.
"""

from __future__ import annotations

from typing import Annotated

import typer

from costwarden.cli.state import state_of
from costwarden.statusline.command import Options, read_stdin, run
from costwarden.statusline.render import FIELDS

__all__ = ["register", "statusline"]

_FORMAT_HELP = "Template of the line, e.g. '{session} {today} {budget}'. Fields: " + ", ".join(
    "{" + name + "}" for name in FIELDS
)


def statusline(
    ctx: typer.Context,
    template: Annotated[str | None, typer.Option("--format", help=_FORMAT_HELP)] = None,
    session: Annotated[
        str | None, typer.Option("--session", help="The session to show (default: session_id on stdin).")
    ] = None,
    transcript: Annotated[
        str | None,
        typer.Option("--transcript", help="The transcript to import (default: transcript_path on stdin)."),
    ] = None,
    no_import: Annotated[
        bool, typer.Option("--no-import", help="Only read the ledger; import nothing.")
    ] = False,
) -> None:
    """Session cost, today's cost and the tightest budget on one line, for Claude Code's statusLine.

    Reads Claude Code's statusline JSON on stdin (session_id, transcript_path, model, cost, rate_limits),
    imports the transcript's new lines (the offsets `import claude-code` keeps), then prints. Without
    stdin (a shell prompt, tmux) it shows today's cost and budgets. Colours follow the budget's alert
    thresholds; --no-color or NO_COLOR prints plain text.
    """
    state = state_of(ctx)
    options = Options(
        db=state.db,
        config=state.config,
        no_color=state.no_color,
        template=template,
        session=session,
        transcript=transcript,
        no_import=no_import,
    )
    code = run(options, read_stdin())
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("statusline")(statusline)
