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


_registered = False


def _register() -> None:
    global _registered
    if _registered:
        return
    _registered = True
    from costwarden.cli import alerts, budget, db, importer, prices, record, tiers

    for module in (record, prices, tiers, db, importer, budget, alerts):
        module.register(app)
    from costwarden.cli import analyze, demo, export, forecast, insights, maintain, report, top, trends, watch

    for module in (report, top, trends, analyze, forecast, export, watch, insights, maintain, demo):
        module.register(app)
    from costwarden.cli import compare, config_cmd, costs

    compare.register(app)
    costs.register(app)
    config_cmd.register(app)
    from costwarden.cli import statusline

    statusline.register(app)


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
        ("budget", "status"),
        ("budget", "list"),
        ("budget", "check"),
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
    _register()
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
