"""`costwarden statusline` itself: its options, reading stdin, choosing the fast or the full way, printing.

The console script sends `costwarden statusline ...` here before loading the CLI (`parse_args`); anything
this module does not recognise (`--help`, a misspelt option) goes to the Typer app, which answers or
explains. Exit codes as the CLI's: 0 printed, 1 failed, 2 bad input or configuration.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TextIO

from costwarden.statusline.payload import PayloadError, parse_payload
from costwarden.statusline.render import TemplateError, check_template, render

__all__ = ["Options", "parse_args", "run", "read_stdin"]

_GLOBAL_VALUES = ("--db", "--config")
_VALUES = ("--format", "--session", "--transcript")
_FLAGS = ("--no-color", "--no-import")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Options:
    db: str | None = None
    config: str | None = None
    no_color: bool = False
    template: str | None = None
    session: str | None = None
    transcript: str | None = None
    no_import: bool = False


def parse_args(args: list[str]) -> Options | None:
    """The options of `[global options] statusline [options]` (global options may also follow), or None
    when `args` are not a statusline command this module understands (the Typer app takes them)."""
    values: dict[str, str] = {}
    flags: set[str] = set()
    seen_command = False
    index = 0
    while index < len(args):
        token = args[index]
        name, eq, inline = token.partition("=")
        if not token.startswith("-"):
            if seen_command:
                return None  # statusline takes no arguments
            if token != "statusline":
                return None
            seen_command = True
        elif name in _GLOBAL_VALUES or (seen_command and name in _VALUES):
            if eq:
                values[name] = inline
                index += 1
                continue
            if index + 1 >= len(args):
                return None
            values[name] = args[index + 1]
            index += 2
            continue
        elif token == "--no-color" or (seen_command and token in _FLAGS):
            flags.add(token)
        else:
            return None
        index += 1
    if not seen_command:
        return None
    return Options(
        db=values.get("--db"),
        config=values.get("--config"),
        no_color="--no-color" in flags,
        template=values.get("--format"),
        session=values.get("--session"),
        transcript=values.get("--transcript"),
        no_import="--no-import" in flags,
    )


def read_stdin(stream: TextIO | None = None) -> str:
    """What Claude Code wrote on stdin; nothing from a terminal (a person typing the command) or a closed
    stdin."""
    stream = sys.stdin if stream is None else stream
    if stream is None or stream.closed:
        return ""
    try:
        if stream.isatty():
            return ""
        return stream.read()
    except (OSError, ValueError):
        return ""


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"costwarden: {message}\n")
    return code


def run(options: Options, text: str) -> int:
    """Print the statusline for the payload `text`; returns the exit code."""
    from costwarden.errors import ConfigError, CostwardenError, ValidationError

    try:
        payload = parse_payload(text)
    except PayloadError as exc:
        return _fail(f"invalid input: statusline JSON on stdin: {exc}", 2)
    if options.template is not None:
        try:
            check_template(options.template)
        except TemplateError as exc:
            return _fail(f"invalid input: --format: {exc}", 2)
    from costwarden.statusline.payload import Payload
    from costwarden.statusline.snapshot import Identity

    payload = payload or Payload()
    session = options.session or payload.session_id
    transcript = options.transcript or payload.transcript_path
    identity = Identity.of(options.db, options.config, session)
    importing = not options.no_import
    try:
        from costwarden.clock import clock_from_env
        from costwarden.statusline.fast import fast_figures

        now_us = (clock_from_env().now() - _EPOCH) // _ONE_US
        figures = fast_figures(payload, identity, options.config, transcript, now_us, importing=importing)
        if figures is None:
            from costwarden.statusline.full import full_figures

            figures = full_figures(payload, identity, options.config, transcript, importing=importing)
    except ConfigError as exc:
        return _fail(f"configuration error: {exc}", 2)
    except ValidationError as exc:
        return _fail(f"invalid input: {exc}", 2)
    except CostwardenError as exc:
        return _fail(str(exc), 1)
    colour = not (options.no_color or os.environ.get("NO_COLOR"))
    sys.stdout.write(render(figures, options.template, colour=colour) + "\n")
    sys.stdout.flush()
    return 0
