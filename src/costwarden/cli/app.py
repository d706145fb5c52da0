"""The root Typer app: global options, error handling and exit codes.

Exit codes: 0 ok; 1 refused or failed (e.g. a budget refusal); 2 bad usage or configuration.
Global options (`--db`, `--config`, `--no-color`) work before or after the subcommand, unless the
subcommand has an option of the same name (`demo --db` is demo's own).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from costwarden.cli.state import CliState, state_of
from costwarden.cli.version import version_text, wants_version
from costwarden.errors import ConfigError, CostwardenError, ValidationError

__all__ = [
    "app",
    "main",
    "hoist_global_flags",
    "READ_ONLY_COMMANDS",
    "EXIT_OK",
    "EXIT_FAILED",
    "EXIT_USAGE",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

app = typer.Typer(
    name="costwarden",
    help="Know what every LLM call costs, keep spend inside budgets, see where the money goes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database URL (sqlite:///file.db or postgresql://...). [env: COSTWARDEN_DATABASE_URL]",
        ),
    ] = None,
    config: Annotated[
        str | None, typer.Option("--config", help="Config file (YAML or TOML). [env: COSTWARDEN_CONFIG]")
    ] = None,
    no_color: Annotated[bool, typer.Option("--no-color", help="Plain output without colors.")] = False,
    _version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", is_eager=True)
    ] = False,
) -> None:
    """Global options apply to every command."""
    plain = no_color or bool(os.environ.get("NO_COLOR"))
    given = ctx.obj if isinstance(ctx.obj, dict) else {}
    ctx.obj = CliState(
        db=db,
        config=config,
        read_only=bool(given.get("read_only")),
        no_color=plain,
        console=_console(plain),
        err=_console(plain, stderr=True),
    )
    ctx.call_on_close(state_of(ctx).close)


def _console(plain: bool, *, stderr: bool = False) -> Console:
    """A console; `plain` drops colors and styles (bold, dim) even on a terminal."""
    if plain:
        return Console(stderr=stderr, no_color=True, color_system=None, highlight=False, soft_wrap=True)
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


COMMAND_MODULES: dict[str, str] = {
    "record": "record",
    "prices": "prices",
    "tiers": "tiers",
    "db": "db",
    "import": "importer",
    "budget": "budget",
    "quota": "quota",
    "alerts": "alerts",
    "alert": "alert",
    "report": "report",
    "top": "top",
    "trends": "trends",
    "analyze": "analyze",
    "forecast": "forecast",
    "export": "export",
    "watch": "watch",
    "insights": "insights",
    "maintain": "maintain",
    "demo": "demo",
    "compare": "compare",
    "costs": "costs",
    "config": "config_cmd",
    "statusline": "statusline",
    "gateway": "gateway",
    "keys": "keys",
    "serve": "serve",
}
"""Each command (or group) -> its module in `costwarden.cli`, in the order they are listed in `--help`.
A command line naming one loads that module alone."""

_registered: set[str] = set()


def _register(name: str | None = None) -> None:
    """Add the command `name` to the app, or every command (`None`), each once, in the order of
    `COMMAND_MODULES` whatever the order they were added in."""
    import importlib

    names = list(COMMAND_MODULES) if name is None else [name]
    for command in names:
        if command in _registered:
            continue
        _registered.add(command)
        importlib.import_module(f"costwarden.cli.{COMMAND_MODULES[command]}").register(app)
    order = {command: index for index, command in enumerate(COMMAND_MODULES)}
    app.registered_commands.sort(key=lambda info: order.get(info.name or "", len(order)))
    app.registered_groups.sort(key=lambda info: order.get(info.name or "", len(order)))


def _command_named(args: list[str]) -> str | None:
    """The command the command line names (its first word that is not an option or an option's value),
    if it is one of `COMMAND_MODULES`."""
    index = 0
    while index < len(args):
        token = args[index]
        if token == "--":
            return None
        if not token.startswith("-"):
            return token if token in COMMAND_MODULES else None
        index += 2 if token in _GLOBAL_VALUES else 1
    return None


def _not_utf8(args: list[str]) -> str | None:
    """The message for the first argument that is not valid UTF-8 (the shell passed bytes Python could only
    decode with surrogate escapes), or None."""
    for index, arg in enumerate(args):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            flag = args[index - 1] if index and args[index - 1].startswith("-") else None
            where = f"the value of {flag}" if flag and "=" not in arg else "an argument"
            return f"{where} is not valid UTF-8: {shown!r}"
    return None


_GLOBAL_VALUES = ("--db", "--config")
_GLOBAL_FLAGS = ("--no-color",)


def _takes_value(param: Any) -> bool:
    """Whether a (typer-vendored click) parameter is an option that takes a value."""
    return (
        bool(getattr(param, "opts", None))
        and not getattr(param, "is_flag", True)
        and not getattr(param, "count", False)
        and getattr(param, "param_type_name", "") == "option"
    )


READ_ONLY_COMMANDS: frozenset[tuple[str, ...]] = frozenset(
    {
        ("report",),
        ("compare",),
        ("costs",),
        ("top",),
        ("trends",),
        ("analyze",),
        ("forecast",),
        ("export",),
        ("watch",),
        ("insights",),
        ("alerts",),
        ("alert", "channels"),
        ("alert", "deliveries"),
        ("alert", "thresholds"),
        ("budget", "status"),
        ("budget", "list"),
        ("budget", "check"),
        ("quota", "report"),
        ("quota", "status"),
    }
)
"""Commands that only read the ledger: on a SQLite file that does not exist they say so (exit 2) instead
of creating it."""


def hoist_global_flags(args: list[str]) -> list[str]:
    """`args` with the global options given after the subcommand moved in front of it (`report --db x`
    becomes `--db x report`). A subcommand's own option of the same name stays where it is, and nothing
    after `--` moves."""
    return _parse_command_line(args)[0]


def _parse_command_line(args: list[str]) -> tuple[list[str], tuple[str, ...]]:
    """`hoist_global_flags(args)` and the names of the (sub)commands given (`("budget", "status")`)."""
    _register(_command_named(args))
    path: list[str] = []
    command: Any = typer.main.get_command(app)
    hoisted: list[str] = []
    rest: list[str] = []
    own: dict[str, bool] = {}  # the current subcommand's options -> whether each takes a value
    in_sub = False
    index = 0
    while index < len(args):
        token = args[index]
        if token == "--":
            rest += args[index:]
            break
        name, eq, _ = token.partition("=")
        if in_sub and name in _GLOBAL_VALUES and name not in own:
            width = 1 if eq else 2
            hoisted += args[index : index + width]
            index += width
            continue
        if in_sub and token in _GLOBAL_FLAGS and token not in own:
            hoisted.append(token)
            index += 1
            continue
        rest.append(token)
        if not token.startswith("-"):
            sub = getattr(command, "commands", {}).get(token)
            if sub is not None:
                command, in_sub = sub, True
                path.append(token)
                own = {opt: _takes_value(p) for p in sub.params for opt in (*p.opts, *p.secondary_opts)}
        elif (own.get(name) or (not in_sub and name in _GLOBAL_VALUES)) and not eq and index + 1 < len(args):
            rest.append(args[index + 1])  # an option's value is never a subcommand or a global flag
            index += 1
        index += 1
    return hoisted + rest, tuple(path)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `costwarden` console script; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    problem = _not_utf8(args)
    if problem is not None:
        err.print(f"costwarden: invalid input: {problem}", markup=False)
        return EXIT_USAGE
    if wants_version(args):
        sys.stdout.write(version_text() + "\n")
        return EXIT_OK
    args, path = _parse_command_line(args)
    try:
        result = app(
            args=args,
            prog_name="costwarden",
            standalone_mode=False,
            obj={"read_only": path in READ_ONLY_COMMANDS},
        )
    except ConfigError as exc:
        err.print(f"costwarden: configuration error: {exc}", markup=False)
        return EXIT_USAGE
    except ValidationError as exc:
        err.print(f"costwarden: invalid input: {exc}", markup=False)
        return EXIT_USAGE
    except CostwardenError as exc:
        err.print(f"costwarden: {exc}", markup=False)
        return EXIT_FAILED
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err.print("Aborted.")
        return EXIT_FAILED
    except typer.TyperException as exc:
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err.print(f"costwarden: {exc.format_message()}", markup=False)
        code = getattr(exc, "exit_code", EXIT_FAILED)
        return code if isinstance(code, int) else EXIT_FAILED
    return result if isinstance(result, int) else EXIT_OK


def run() -> None:
    sys.exit(main())
