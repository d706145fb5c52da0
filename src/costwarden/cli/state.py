"""Per-invocation CLI state: global options and the lazily built Warden."""

from __future__ import annotations

from dataclasses import dataclass, field

import typer
from rich.console import Console

from costwarden.clock import Clock, clock_from_env
from costwarden.config import Settings, load_settings
from costwarden.warden import Warden

__all__ = ["CliState", "state_of"]


@dataclass
class CliState:
    """Global options (`--db`, `--config`, `--no-color`) and what is built from them, once."""

    db: str | None = None
    config: str | None = None
    no_color: bool = False
    _settings: Settings | None = None
    _warden: Warden | None = None
    _clock: Clock | None = None
    console: Console = field(default_factory=Console)
    err: Console = field(default_factory=lambda: Console(stderr=True))

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config, database=self.db)
        return self._settings

    @property
    def clock(self) -> Clock:
        """This invocation's "now" (`$COSTWARDEN_NOW` or the system clock), shared with its Warden."""
        if self._clock is None:
            self._clock = clock_from_env()
        return self._clock

    @property
    def warden(self) -> Warden:
        if self._warden is None:
            self._warden = Warden(self.settings, clock=self.clock)
        return self._warden

    def close(self) -> None:
        if self._warden is not None:
            self._warden.close()
            self._warden = None


def state_of(ctx: typer.Context) -> CliState:
    """The CliState of this invocation (created by the root callback)."""
    root = ctx.find_root()
    state = root.obj
    if not isinstance(state, CliState):
        state = CliState()
        root.obj = state
    return state
