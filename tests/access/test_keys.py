"""API keys on every backend: random secrets shown once and stored hashed, roles, project restrictions,
revocation, gateway attribution."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from costwarden import Warden
from costwarden.access import KeyRing, Role, key_ring
from costwarden.config import Settings
from costwarden.core.usage import Attribution
from costwarden.errors import ValidationError
from costwarden.storage.backend import MEMORY_URL


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "memory"])
def warden(request: pytest.FixtureRequest) -> Iterator[Warden]:
    if request.param == "memory":
        url = MEMORY_URL
    else:
        url = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    with Warden(Settings(database=url)) as opened:
        yield opened


@pytest.fixture
def ring(warden: Warden) -> KeyRing:
    return key_ring(warden, cache_seconds=0)


def test_a_key_authenticates_by_its_secret_only_and_only_its_hash_is_stored(ring: KeyRing) -> None:
    assert not ring.enabled()
    new = ring.create(role="writer", projects=["web"], name="ci")
    assert ring.enabled()
    assert new.secret.startswith(f"cwk_{new.key.id}_") and len(new.secret) > 40
    assert new.secret not in repr(new)
    stored = ring.store.get(new.key.id)
    assert stored is not None
    assert stored.secret_hash == hashlib.sha256(new.secret.encode()).hexdigest()
    assert new.secret not in repr(stored)
    found = ring.authenticate(new.secret)
    assert found is not None and found.role == Role.WRITER and found.projects == ("web",)
    altered = new.secret[:-1] + ("A" if new.secret[-1] != "A" else "B")
    for wrong in (altered, new.secret + "x", "cwk_" + new.key.id, "Bearer x", "", "cwk__x", "cwk_zz!_x"):
        assert ring.authenticate(wrong) is None, wrong


def test_two_keys_never_share_a_secret(ring: KeyRing) -> None:
    secrets = {ring.create(role="reader").secret for _ in range(20)}
    assert len(secrets) == 20


def test_revoked_keys_stop_working_and_stay_listed_with_all(ring: KeyRing) -> None:
    keep = ring.create(role="admin")
    gone = ring.create(role="reader")
    assert ring.authenticate(gone.secret) is not None
    assert ring.revoke(gone.key.id)
    assert not ring.revoke(gone.key.id)
    assert not ring.revoke("nope")
    assert ring.authenticate(gone.secret) is None
    assert [k.id for k in ring.list()] == [keep.key.id]
    listed = {k.id: k for k in ring.list(include_revoked=True)}
    assert listed[gone.key.id].revoked_at is not None
    assert ring.revoke(keep.key.id)
    assert not ring.enabled()


def test_a_revocation_from_another_process_applies_after_the_cache_time(warden: Warden) -> None:
    cached = key_ring(warden, cache_seconds=3600)
    other = key_ring(warden, cache_seconds=0)
    new = other.create(role="reader")
    assert cached.authenticate(new.secret) is not None
    other.revoke(new.key.id)
    assert cached.authenticate(new.secret) is not None  # remembered for cache_seconds
    assert other.authenticate(new.secret) is None


@pytest.mark.parametrize(
    ("role", "needed", "granted"),
    [
        ("admin", "admin", True),
        ("admin", "writer", True),
        ("admin", "reader", True),
        ("writer", "admin", False),
        ("writer", "writer", True),
        ("writer", "reader", True),
        ("reader", "writer", False),
        ("reader", "admin", False),
        ("gateway", "reader", False),
        ("admin", "gateway", False),
        ("gateway", "gateway", True),
    ],
)
def test_roles(ring: KeyRing, role: str, needed: str, granted: bool) -> None:
    kwargs = {"projects": ["p"]} if role == "gateway" else {}
    key = ring.create(role=role, **kwargs).key
    assert key.grants(Role(needed)) is granted


def test_project_restrictions(ring: KeyRing) -> None:
    key = ring.create(role="reader", projects=["a", "b", "a"]).key
    assert key.projects == ("a", "b")
    assert key.sees("a") and key.sees("b")
    assert not key.sees("c") and not key.sees(None)
    everything = ring.create(role="reader").key
    assert everything.sees("c") and everything.sees(None)


def test_gateway_keys_carry_attribution_and_the_fields_callers_may_set(ring: KeyRing) -> None:
    key = ring.create(role="gateway", projects=["X"], agent="Y").key
    assert key.attribution == Attribution(project="X", agent="Y")
    assert not key.may_override("project") and not key.may_override("agent")
    assert key.may_override("session") and key.may_override("tags")
    narrow = ring.create(role="gateway", projects=["X"], overrides=["session"]).key
    assert narrow.overrides == ("session",) and not narrow.may_override("run")
    assert ring.get(narrow.id) == narrow


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"role": "boss"}, "role"),
        ({"role": "gateway", "projects": ["a", "b"]}, "projects"),
        ({"role": "gateway", "overrides": ["cost"]}, "overrides"),
        ({"role": "writer", "agent": "x"}, "agent"),
        ({"role": "reader", "projects": [""]}, "projects"),
        ({"role": "reader", "name": "x" * 201}, "name"),
        ({"role": "reader", "name": "bad\nname"}, "name"),
    ],
)
def test_bad_keys_are_refused_naming_the_field_and_nothing_is_stored(
    ring: KeyRing, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        ring.create(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert ring.list(include_revoked=True) == []
