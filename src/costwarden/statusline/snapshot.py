"""What the full way leaves for the fast way: the configuration it read, the windows it used and, for each
figure, the SQL that recomputes it. One JSON file per ledger, configuration and session in the user cache
dir (`~/.cache/costwarden/statusline/`); written atomically, ignored when it cannot be read.

A snapshot holds while (`fast.fast_figures` checks each):
- the same costwarden version, the same `--db` / `--config` / `$COSTWARDEN_DATABASE_URL` /
  `$COSTWARDEN_CONFIG` and working directory, and every config file that could be read unchanged (or
  still absent);
- "now" is inside every calendar window it used (today, each budget's day, week or month) and within
  `MAX_AGE_S` of when it was made;
- the budgets set from the CLI (`budget_definitions`, `budget_meta`) are the same, and retention has folded
  nothing (the fast way sums raw events).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from costwarden.clock import wall_time_ns

__all__ = [
    "FORMAT",
    "MAX_AGE_S",
    "Query",
    "BudgetQuery",
    "WindowQuery",
    "Snapshot",
    "Identity",
    "config_signature",
    "snapshot_path",
    "load_snapshot",
    "save_snapshot",
]

FORMAT = 2
MAX_AGE_S = 300
"""A snapshot is made again at least every five minutes (a per-value budget's busiest values can change)."""
_CONFIG_NAMES = ("config.yaml", "config.yml", "config.toml")
_STALE_S = 86400


@dataclass(frozen=True, slots=True)
class Identity:
    """What picks the ledger and the configuration (the global options and their variables)."""

    db: str | None
    config: str | None
    env_db: str | None
    env_config: str | None
    session: str | None
    cwd: str
    """Relative paths (a database file, a config file) are read from here."""

    @classmethod
    def of(cls, db: str | None, config: str | None, session: str | None) -> Identity:
        env = os.environ
        return cls(
            db, config, env.get("COSTWARDEN_DATABASE_URL"), env.get("COSTWARDEN_CONFIG"), session, os.getcwd()
        )

    def name(self) -> str:
        from costwarden._version import __version__

        raw = json.dumps([FORMAT, __version__, *asdict(self).values()])
        return hashlib.sha1(raw.encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class Query:
    """A `SELECT sum(cost_units), sum(tokens), sum(requests) FROM events WHERE ...` with named parameters;
    `w_start` / `w_end` (micros) are filled in from `start` / `end`, or `rolling_us` before now, or (with
    `to_now`) just after now."""

    sql: str
    params: dict[str, Any]
    start: int | None = None
    end: int | None = None
    rolling_us: int | None = None
    to_now: bool = False


@dataclass(frozen=True, slots=True)
class BudgetQuery:
    name: str
    unit: str
    dimension: str
    limit: str
    thresholds: list[str]
    query: Query


@dataclass(frozen=True, slots=True)
class WindowQuery:
    """One window of a subscription plan: the provider's reading it names (the newest one counts while
    current), else its events counted against `limit` in `unit` (`query`; none for a percent window)."""

    label: str
    provider: str
    account: str
    reading: str | None
    unit: str
    limit: str | None
    start: int | None
    """Fixed windows: their start (micros); the snapshot holds inside the window only."""
    rolling_us: int | None
    """Rolling windows: their length."""
    query: Query | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    identity: Identity
    config: list[list[Any]]
    sqlite: str
    budget_defs: str
    made_at: int
    valid_from: int
    valid_until: int
    today: Query
    session: Query | None
    budgets: list[BudgetQuery] = field(default_factory=list)
    quotas: list[WindowQuery] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **asdict(self)}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Snapshot | None:
        try:
            data = json.loads(text)
            if data.pop("format", None) != FORMAT:
                return None
            data["identity"] = Identity(**data["identity"])
            data["today"] = Query(**data["today"])
            data["session"] = Query(**data["session"]) if data["session"] else None
            data["budgets"] = [BudgetQuery(**{**b, "query": Query(**b["query"])}) for b in data["budgets"]]
            data["quotas"] = [
                WindowQuery(**{**w, "query": Query(**w["query"]) if w["query"] else None})
                for w in data["quotas"]
            ]
            return cls(**data)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


def _config_candidates(config: str | None) -> list[Path]:
    """The config files `costwarden.config.find_config_file` would look at, in its order."""
    if config is not None:
        return [Path(config)]
    env = os.environ.get("COSTWARDEN_CONFIG")
    if env:
        return [Path(env)]
    import platformdirs

    root = Path(platformdirs.user_config_dir("costwarden"))
    return [root / name for name in _CONFIG_NAMES]


def config_signature(config: str | None) -> list[list[Any]]:
    """`[path, mtime_ns, size]` of each candidate config file (`[path, None, None]` when absent)."""
    out: list[list[Any]] = []
    for path in _config_candidates(config):
        try:
            stat = path.stat()
        except OSError:
            out.append([str(path), None, None])
        else:
            out.append([str(path), stat.st_mtime_ns, stat.st_size])
    return out


def _cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("costwarden")) / "statusline"


def snapshot_path(identity: Identity) -> Path:
    return _cache_dir() / f"{identity.name()}.json"


def load_snapshot(identity: Identity) -> Snapshot | None:
    try:
        text = snapshot_path(identity).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    snapshot = Snapshot.from_json(text)
    return snapshot if snapshot is not None and snapshot.identity == identity else None


def save_snapshot(snapshot: Snapshot) -> None:
    """Write atomically, and remove snapshots unused for a day (one per session would pile up); a cache
    that cannot be written is left (the next run takes the full way)."""
    path = snapshot_path(snapshot.identity)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temp.write_text(snapshot.to_json(), encoding="utf-8")
        os.replace(temp, path)
        _prune(path.parent)
    except OSError:
        pass


def _prune(folder: Path) -> None:
    """Remove the files of `folder` not written for `_STALE_S`."""
    cutoff = wall_time_ns() / 1e9 - _STALE_S  # the files' own age, not the clock's "now"
    for entry in os.scandir(folder):
        try:
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
        except OSError:
            continue
