"""API keys: random secrets shown once, stored as SHA-256 hashes, each with a role and optional project
restrictions; gateway keys also carry the attribution (project, agent) their calls get.

Roles: `admin` (limits, keys, channels, and everything a writer may), `writer` (events and admissions, and
everything a reader may), `reader` (reads), `gateway` (calls through the gateway only). A key restricted to
projects neither reads nor writes any other project.

    from costwarden.access import key_ring
    ring = key_ring(warden)
    new = ring.create(role="writer", projects=["web"], name="ci")
    print(new.secret)                       # shown once: cwk_<id>_<random>
    key = ring.authenticate(new.secret)     # ApiKey or None (unknown, revoked or altered)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from costwarden.clock import Clock, SystemClock
from costwarden.core.usage import ATTRIBUTION_FIELDS, Attribution
from costwarden.errors import ValidationError
from costwarden.storage.api_keys import KeyStore, StoredKey

if TYPE_CHECKING:
    from costwarden.warden import Warden

__all__ = ["Role", "ApiKey", "NewKey", "KeyRing", "key_ring", "SECRET_PREFIX", "OVERRIDABLE"]

SECRET_PREFIX = "cwk_"
OVERRIDABLE: tuple[str, ...] = (*ATTRIBUTION_FIELDS, "tags")
"""What a gateway key may let its callers set per call (attribution fields and tags)."""
_NAME_MAX = 200
_PROJECT_MAX = 255


class Role(StrEnum):
    """What a key may do. `admin` includes `writer`, which includes `reader`; `gateway` is apart."""

    ADMIN = "admin"
    WRITER = "writer"
    READER = "reader"
    GATEWAY = "gateway"


_RANK = {Role.READER: 1, Role.WRITER: 2, Role.ADMIN: 3}


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key as the server sees it (never its secret or hash)."""

    id: str
    name: str
    role: Role
    created_at: datetime
    projects: tuple[str, ...] = ()
    """Empty: every project."""
    agent: str | None = None
    overrides: tuple[str, ...] = ()
    revoked_at: datetime | None = None

    def grants(self, needed: Role) -> bool:
        """Whether this key's role covers `needed` (admin > writer > reader; gateway only itself)."""
        if Role.GATEWAY in (self.role, needed):
            return self.role == needed
        return _RANK[self.role] >= _RANK[needed]

    @property
    def restricted(self) -> bool:
        return bool(self.projects)

    def sees(self, project: str | None) -> bool:
        """Whether the key may read or write `project` (an event without a project only for unrestricted
        keys)."""
        return not self.projects or project in self.projects

    @property
    def attribution(self) -> Attribution:
        """The attribution a gateway key gives its calls (its one project, its agent)."""
        return Attribution(project=self.projects[0] if self.projects else None, agent=self.agent)

    def may_override(self, name: str) -> bool:
        """Whether a caller of this gateway key may set attribution field `name` (or `tags`) per call."""
        return name in self.overrides

    def to_json(self) -> dict[str, object]:
        def when(at: datetime | None) -> str | None:
            return at.isoformat().replace("+00:00", "Z") if at is not None else None

        return {
            "id": self.id,
            "name": self.name,
            "role": self.role.value,
            "projects": list(self.projects),
            "agent": self.agent,
            "overrides": list(self.overrides),
            "created_at": when(self.created_at),
            "revoked_at": when(self.revoked_at),
        }


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just created, with its secret: the only time the secret is known."""

    key: ApiKey
    secret: str = field(repr=False)


def _public(stored: StoredKey) -> ApiKey:
    return ApiKey(
        id=stored.id,
        name=stored.name,
        role=Role(stored.role),
        created_at=stored.created_at,
        projects=stored.projects,
        agent=stored.agent,
        overrides=stored.overrides,
        revoked_at=stored.revoked_at,
    )


def _role(value: Role | str) -> Role:
    try:
        return Role(str(value).strip().lower())
    except ValueError:
        raise ValidationError(
            "role", f"unknown role {value!r}; choose {', '.join(r.value for r in Role)}"
        ) from None


def _text(name: str, value: str, limit: int) -> str:
    value = value.strip()
    if not value or len(value) > limit or any(ord(ch) < 32 for ch in value):
        raise ValidationError(name, f"expected 1 to {limit} printable characters, got {value!r}")
    return value


class KeyRing:
    """Creates, lists, revokes and checks API keys of one database. `authenticate` remembers what it
    found for `cache_seconds` (a revocation from another process applies within that time; one from this
    ring at once)."""

    def __init__(self, store: KeyStore, clock: Clock | None = None, *, cache_seconds: float = 1.0) -> None:
        self.store = store
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}
        self._enabled: tuple[float, bool] | None = None
        self._lock = threading.Lock()

    def create(
        self,
        *,
        role: Role | str,
        name: str | None = None,
        projects: Iterable[str] = (),
        agent: str | None = None,
        overrides: Iterable[str] | None = None,
    ) -> NewKey:
        """A new key (stored hashed; the secret is in the returned `NewKey` only). A gateway key names at
        most one project (the attribution of its calls) and may name an agent; `overrides` are the
        attribution fields its callers may still set (default: every field the key does not fix)."""
        chosen = _role(role)
        kept = tuple(dict.fromkeys(_text("projects", p, _PROJECT_MAX) for p in projects))
        if agent is not None:
            agent = _text("agent", agent, _PROJECT_MAX)
        if chosen == Role.GATEWAY:
            if len(kept) > 1:
                raise ValidationError("projects", "a gateway key attributes its calls to one project")
            fixed = {"project"} if kept else set()
            if agent is not None:
                fixed.add("agent")
            allowed = (
                tuple(f for f in OVERRIDABLE if f not in fixed)
                if overrides is None
                else tuple(dict.fromkeys(overrides))
            )
            for item in allowed:
                if item not in OVERRIDABLE:
                    raise ValidationError(
                        "overrides", f"cannot override {item!r}; choose from {', '.join(OVERRIDABLE)}"
                    )
        else:
            if agent is not None or overrides:
                raise ValidationError("agent", "only gateway keys carry an agent and overrides")
            allowed = ()
        key_id = secrets.token_hex(6)
        secret = f"{SECRET_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        stored = StoredKey(
            id=key_id,
            name=_text("name", name, _NAME_MAX) if name is not None else f"{chosen.value}-{key_id}",
            role=chosen.value,
            secret_hash=_hash(secret),
            created_at=self.clock.now(),
            projects=kept,
            agent=agent,
            overrides=allowed,
        )
        self.store.add(stored)
        with self._lock:
            self._enabled = None
        return NewKey(_public(stored), secret)

    def list(self, *, include_revoked: bool = False) -> list[ApiKey]:
        return [_public(k) for k in self.store.all(include_revoked=include_revoked)]

    def get(self, key_id: str) -> ApiKey | None:
        stored = self.store.get(key_id)
        return _public(stored) if stored is not None else None

    def revoke(self, key_id: str) -> bool:
        """Revoke a key (it stops working at once in this process); False when no active key has the id."""
        done = self.store.revoke(key_id, self.clock.now())
        with self._lock:
            self._cache = {s: v for s, v in self._cache.items() if v[1] is None or v[1].id != key_id}
            self._enabled = None
        return done

    def enabled(self) -> bool:
        """Whether any key is active (then every request must carry one)."""
        now = time.monotonic()
        with self._lock:
            seen = self._enabled
        if seen is not None and now - seen[0] < self.cache_seconds:
            return seen[1]
        value = self.store.active_count() > 0
        with self._lock:
            self._enabled = (now, value)
        return value

    def authenticate(self, secret: str) -> ApiKey | None:
        """The active key whose secret this is, else None (unknown, revoked, altered or malformed)."""
        now = time.monotonic()
        with self._lock:
            seen = self._cache.get(secret)
        if seen is not None and now - seen[0] < self.cache_seconds:
            return seen[1]
        key = self._lookup(secret)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[secret] = (now, key)
        return key

    def _lookup(self, secret: str) -> ApiKey | None:
        if not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
            return None
        key_id, sep, _ = secret[len(SECRET_PREFIX) :].partition("_")
        if not sep or not key_id.isalnum():
            return None
        stored = self.store.get(key_id)
        if stored is None or not stored.active:
            return None
        if not hmac.compare_digest(stored.secret_hash, _hash(secret)):
            return None
        return _public(stored)


def key_ring(warden: Warden, *, cache_seconds: float = 1.0) -> KeyRing:
    """The key ring of a Warden's database (with its clock)."""
    return KeyRing(warden.backend.api_keys, warden.clock, cache_seconds=cache_seconds)
