"""`costwarden keys`: API keys of `costwarden serve` and the gateway: create (the secret is shown once),
list, revoke. Only hashes are stored, in the database beside the events."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from costwarden.access import KeyRing, Role, key_ring
from costwarden.cli.state import CliState, state_of
from costwarden.errors import ValidationError

__all__ = ["register", "keys_app"]

keys_app = typer.Typer(
    help="API keys of the server and the gateway: create, list, revoke.", no_args_is_help=True
)


def _ring(state: CliState) -> KeyRing:
    return key_ring(state.warden)


@keys_app.command("create")
def create(
    ctx: typer.Context,
    role: Annotated[
        str | None,
        typer.Option("--role", help="admin, writer or reader (default reader; gateway keys: --gateway)."),
    ] = None,
    project: Annotated[
        list[str] | None,
        typer.Option(
            "--project", help="Restrict the key to this project (repeatable); a gateway key's project."
        ),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="A name to recognise the key by.")] = None,
    gateway: Annotated[
        bool,
        typer.Option(
            "--gateway", help="A gateway virtual key: its calls are attributed to --project/--agent."
        ),
    ] = False,
    agent: Annotated[str | None, typer.Option("--agent", help="The agent of a gateway key's calls.")] = None,
    allow: Annotated[
        list[str] | None,
        typer.Option(
            "--allow",
            help="Attribution a gateway key's callers may set per call (repeatable; default: every field "
            "the key does not fix).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (with the secret).")] = False,
) -> None:
    """Create a key and print its secret, once: it is stored hashed and cannot be shown again."""
    state = state_of(ctx)
    if gateway and role not in (None, Role.GATEWAY.value):
        raise typer.BadParameter("a gateway key has no other role", param_hint="--role")
    if not gateway and (agent is not None or allow):
        raise typer.BadParameter(
            "--agent and --allow go with --gateway", param_hint="--agent" if agent else "--allow"
        )
    chosen = Role.GATEWAY.value if gateway else (role or Role.READER.value)
    if chosen == Role.GATEWAY.value and not gateway:
        raise typer.BadParameter("create gateway keys with --gateway", param_hint="--role")
    try:
        new = _ring(state).create(
            role=chosen, name=name, projects=project or (), agent=agent, overrides=allow if allow else None
        )
    except ValidationError as exc:
        hint = {"role": "--role", "projects": "--project", "agent": "--agent", "overrides": "--allow"}
        raise typer.BadParameter(
            str(exc).partition(": ")[2] or str(exc), param_hint=hint.get(exc.field, "--name")
        ) from None
    if as_json:
        typer.echo(json.dumps({**new.key.to_json(), "secret": new.secret}, indent=2))
        return
    key = new.key
    scope = ", ".join(key.projects) if key.projects else "every project"
    state.console.print(f"Created {key.role.value} key {key.id} ({key.name}) for {scope}.", markup=False)
    if key.role == Role.GATEWAY:
        fixed = f"project={key.projects[0] if key.projects else '-'}, agent={key.agent or '-'}"
        state.console.print(
            f"Its calls are attributed to {fixed}; callers may set: {', '.join(key.overrides) or 'nothing'}.",
            markup=False,
        )
    state.console.print("Secret (shown once, store it now):", markup=False)
    typer.echo(new.secret)


@keys_app.command("list")
def list_keys(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The keys (never their secrets)."""
    state = state_of(ctx)
    keys = _ring(state).list(include_revoked=show_all)
    if as_json:
        typer.echo(json.dumps([k.to_json() for k in keys], indent=2))
        return
    if not keys:
        state.console.print("No API keys. Create one with: costwarden keys create --role admin")
        return
    table = Table()
    for col in ("id", "name", "role", "projects", "agent", "created", "revoked"):
        table.add_column(col)
    tz = state.settings.tz
    for k in keys:
        table.add_row(
            k.id,
            k.name,
            k.role.value,
            ", ".join(k.projects) or "all",
            k.agent or "",
            f"{k.created_at.astimezone(tz):%Y-%m-%d %H:%M}",
            f"{k.revoked_at.astimezone(tz):%Y-%m-%d %H:%M}" if k.revoked_at else "",
        )
    if not state.console.is_terminal:
        state.console.width = max(state.console.width, 160)
    state.console.print(table)


@keys_app.command("revoke")
def revoke(
    ctx: typer.Context, key_id: Annotated[str, typer.Argument(help="The key's id (see keys list).")]
) -> None:
    """Revoke a key: it stops working within a second on every server and gateway of the database."""
    state = state_of(ctx)
    if not _ring(state).revoke(key_id):
        raise typer.BadParameter(
            f"no active key {key_id!r} (see `costwarden keys list`)", param_hint="KEY_ID"
        )
    state.console.print(f"Revoked key {key_id}.", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
