"""`costwarden record`: store one usage event from the shell."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from costwarden.cli.options import parse_when
from costwarden.cli.render import event_to_json, print_event
from costwarden.cli.state import state_of
from costwarden.core.limits import MAX_TOKENS
from costwarden.core.usage import EventSource

__all__ = ["register", "record"]


def record(
    ctx: typer.Context,
    provider: Annotated[str, typer.Option("--provider", help="Provider id, e.g. openai, anthropic, ollama.")],
    model: Annotated[str, typer.Option("--model", help="Model name as sent to the provider.")],
    input_tokens: Annotated[
        int, typer.Option("--input-tokens", min=0, max=MAX_TOKENS, help="Uncached input tokens.")
    ] = 0,
    output_tokens: Annotated[
        int,
        typer.Option("--output-tokens", min=0, max=MAX_TOKENS, help="Output tokens (reasoning included)."),
    ] = 0,
    cache_read_tokens: Annotated[int, typer.Option("--cache-read-tokens", min=0, max=MAX_TOKENS)] = 0,
    cache_write_tokens: Annotated[
        int, typer.Option("--cache-write-tokens", min=0, max=MAX_TOKENS, help="5-minute cache writes.")
    ] = 0,
    cache_write_1h_tokens: Annotated[int, typer.Option("--cache-write-1h-tokens", min=0, max=MAX_TOKENS)] = 0,
    reasoning_tokens: Annotated[
        int, typer.Option("--reasoning-tokens", min=0, max=MAX_TOKENS, help="Part of output tokens.")
    ] = 0,
    project: Annotated[str | None, typer.Option("--project")] = None,
    agent: Annotated[str | None, typer.Option("--agent")] = None,
    session: Annotated[str | None, typer.Option("--session")] = None,
    run: Annotated[str | None, typer.Option("--run")] = None,
    task: Annotated[str | None, typer.Option("--task")] = None,
    user: Annotated[str | None, typer.Option("--user")] = None,
    plan: Annotated[str | None, typer.Option("--plan", help="The plan (work order) the call served.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="NAME=VALUE, repeatable.")] = None,
    event_id: Annotated[
        str | None, typer.Option("--id", help="Idempotency key; the same id twice is one event.")
    ] = None,
    at: Annotated[str | None, typer.Option("--at", help="When it happened (ISO-8601; default now).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the stored event as JSON.")] = False,
) -> None:
    """Record one call's usage; prints the stored event with its cost."""
    state = state_of(ctx)
    tags: dict[str, str] = {}
    for item in tag or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--tag")
        tags[name] = value
    occurred_at = parse_when(at, "--at", state.settings.tz) if at else None
    event = state.warden.record(
        provider=provider,
        model=model,
        id=event_id,
        occurred_at=occurred_at,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read_tokens,
        cache_write_tokens=cache_write_tokens,
        cache_write_1h_tokens=cache_write_1h_tokens,
        reasoning_tokens=reasoning_tokens,
        project=project,
        agent=agent,
        session=session,
        run=run,
        task=task,
        user=user,
        plan=plan,
        tags=tags,
        source=EventSource.CLI,
    )
    if as_json:
        typer.echo(json.dumps(event_to_json(event), indent=2))
    else:
        print_event(state.console, event)


def register(app: typer.Typer) -> None:
    app.command("record")(record)
