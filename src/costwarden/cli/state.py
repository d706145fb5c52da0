"""Per-invocation CLI state: global options and the lazily built Warden."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import typer
from rich.console import Console

from costwarden.clock import Clock, clock_from_env
from costwarden.config import DATABASE_ENV, Settings, load_settings
from costwarden.errors import ConfigError
from costwarden.warden import Warden

__all__ = ["CliState", "state_of"]

_LEDGER_NOTES = "costwarden.ledger.migrate"


@dataclass
class CliState:
    """Global options (`--db`, `--config`, `--no-color`) and what is built from them, once."""

    db: str | None = None
    config: str | None = None
    read_only: bool = False
    """The command only reads: a missing SQLite file is an error (exit 2), never created."""
    no_color: bool = False
    _settings: Settings | None = None
    _warden: Warden | None = None
    _clock: Clock | None = None
    _notes: logging.Handler | None = None
    _notes_level: int = logging.NOTSET
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
            if self.read_only:
                _require_database(self.settings.database)
            self._listen_to_ledger()
            self._warden = Warden(self.settings, clock=self.clock)
        return self._warden

    def _listen_to_ledger(self) -> None:
        """Say on stderr what opening the ledger changed (migrations applied to an existing database)."""
        if self._notes is not None:
            return
        err = self.err

        class _Notes(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                err.print(f"costwarden: {record.getMessage()}", markup=False)

        self._notes = _Notes(logging.INFO)
        logger = logging.getLogger(_LEDGER_NOTES)
        logger.addHandler(self._notes)
        self._notes_level = logger.level
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)

    def close(self) -> None:
        if self._notes is not None:
            logger = logging.getLogger(_LEDGER_NOTES)
            logger.removeHandler(self._notes)
            logger.setLevel(self._notes_level)
            self._notes = None
        if self._warden is not None:
            self._warden.close()
            self._warden = None


def _require_database(url: str | None) -> None:
    """Raise a ConfigError when `url` names a SQLite file that does not exist (a read command must not
    create folders and an empty database, then report $0)."""
    from costwarden.storage.backend import MEMORY_URL
    from costwarden.storage.sql.engine import ledger_url, sqlite_path

    if url is None or url.strip().lower() == MEMORY_URL:  # in this process's memory: nothing to look for
        return
    parsed = ledger_url(url)
    if parsed.get_backend_name() != "sqlite":
        return
    path = sqlite_path(parsed)
    if path is not None and not path.exists():
        raise ConfigError(
            f"no database at {path}; nothing has been recorded there (check --db or "
            f"${DATABASE_ENV}, or create it with `costwarden db upgrade`)",
            key="--db",
        )


def state_of(ctx: typer.Context) -> CliState:
    """The CliState of this invocation (created by the root callback)."""
    root = ctx.find_root()
    state = root.obj
    if not isinstance(state, CliState):
        state = CliState()
        root.obj = state
    return state
