"""Admission tokens on every counter backend: admit in one Warden (or process), settle or release in
another; settling again is idempotent; expired, released, altered and foreign tokens are refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from budget_helpers import PRICING, PROVIDERS, Clock, MakeWarden, call

from costwarden.budgets import BudgetEngine
from costwarden.core.calls import Decision
from costwarden.core.money import to_units
from costwarden.core.usage import Attribution, EventSource, Usage
from costwarden.errors import AdmissionTokenError
from costwarden.warden import Warden

USAGE = Usage(input_tokens=100, output_tokens=50)  # $0.15 on cloud/big
DAILY = [{"id": "daily", "period": "day", "cost_usd": "1.00", "scope": "project"}]
START = datetime(2026, 12, 1, 10, tzinfo=UTC)


def engine_of(warden: Warden) -> BudgetEngine:
    engine = warden.budgets
    assert isinstance(engine, BudgetEngine)
    return engine


def totals(warden: Warden) -> tuple[int, int]:
    """(spent, reserved) cost units over every counter of the `daily` budget."""
    counters = engine_of(warden).store.counters("daily").values()
    return sum(c.spent.cost for c in counters), sum(c.reserved.cost for c in counters)


def pair(make_warden: MakeWarden, budget_backend: str, clock: Clock, **config: Any) -> tuple[Warden, Warden]:
    """Two Wardens on one database (on `memory`, one Warden twice: its ledger lives in this process)."""
    first = make_warden(clock=clock, pricing=PRICING, **config)
    second = first if budget_backend == "memory" else make_warden(clock=clock, pricing=PRICING, **config)
    return first, second


def test_settled_by_another_warden(make_warden: MakeWarden, budget_backend: str) -> None:
    clock = Clock(START)
    admitter, settler = pair(make_warden, budget_backend, clock, budgets=DAILY)
    admission = admitter.admit(call(attribution=Attribution(project="web", agent="a1", tags={"k": "v"})))
    token = admitter.admission_token(admission)
    assert totals(settler) == (0, to_units(Decimal("0.2")))
    clock.advance(timedelta(seconds=3))
    event = settler.settle_token(token, USAGE, provider_response_id="resp-1", source=EventSource.API)
    assert event.id == admission.request.request_id  # one call, one event
    assert (event.provider, event.model) == ("cloud", "big")
    assert event.attribution == Attribution(project="web", agent="a1", tags={"k": "v"})
    assert event.cost_total == Decimal("0.15")
    assert event.duration_ms == 3000  # from admission to settlement, on the Warden's clock
    assert event.source == "api" and event.provider_response_id == "resp-1"
    assert settler.ledger.get(event.id) == event
    assert totals(admitter) == (to_units(Decimal("0.15")), 0)


def test_the_token_holds_the_reservation_per_budget(make_warden: MakeWarden) -> None:
    clock = Clock(START)
    warden = make_warden(clock=clock, pricing=PRICING, budgets=DAILY)
    admission = warden.admit(call(attribution=Attribution(project="web")))
    assert admission.holds == (("daily|project=web|d:2026-12-01T00:00", admission.holds[0][1]),)
    assert admission.holds[0][1].cost == to_units(Decimal("0.2"))
    assert admission.holds[0][1].tokens == 200 and admission.holds[0][1].requests == 1
    assert admission.expires == START.timestamp() + 900  # admission.reservation_ttl
    warden.release(admission)


def test_settling_again_is_idempotent(make_warden: MakeWarden, budget_backend: str) -> None:
    clock = Clock(START)
    admitter, settler = pair(make_warden, budget_backend, clock, budgets=DAILY)
    token = admitter.admission_token(admitter.admit(call(attribution=Attribution(project="web"))))
    first = settler.settle_token(token, USAGE)
    again = admitter.settle_token(token, USAGE)
    assert again == first
    assert len(list(settler.ledger.events())) == 1
    assert totals(settler) == (to_units(Decimal("0.15")), 0)
    clock.advance(timedelta(hours=1))  # a retry after the deadline still answers the stored event
    assert settler.settle_token(token, USAGE) == first
    with pytest.raises(AdmissionTokenError, match="settled already, with other usage") as info:
        settler.settle_token(token, Usage(input_tokens=100, output_tokens=99))
    assert info.value.reason == "conflict"
    with pytest.raises(AdmissionTokenError, match="other usage or status"):
        settler.settle_token(token, USAGE, status="error")
    assert totals(settler) == (to_units(Decimal("0.15")), 0)


def test_release_gives_the_reservation_back_once(make_warden: MakeWarden, budget_backend: str) -> None:
    clock = Clock(START)
    admitter, releaser = pair(make_warden, budget_backend, clock, budgets=DAILY)
    token = admitter.admission_token(admitter.admit(call(attribution=Attribution(project="web"))))
    other = admitter.admit(call(attribution=Attribution(project="web")))
    releaser.release_token(token)
    releaser.release_token(token)  # again: nothing changes
    assert totals(admitter) == (0, to_units(Decimal("0.2")))  # the other call's reservation stays
    with pytest.raises(AdmissionTokenError, match="released or reclaimed") as info:
        releaser.settle_token(token, USAGE)
    assert info.value.reason == "released"
    assert releaser.ledger.get(other.request.request_id) is None
    admitter.release(other)
    assert totals(admitter) == (0, 0)


def test_an_expired_token_is_refused(make_warden: MakeWarden, budget_backend: str) -> None:
    clock = Clock(START)
    admitter, settler = pair(make_warden, budget_backend, clock, budgets=DAILY)
    token = admitter.admission_token(admitter.admit(call(attribution=Attribution(project="web"))))
    clock.advance(timedelta(seconds=901))
    with pytest.raises(AdmissionTokenError, match="expired 1 s before it was settled") as info:
        settler.settle_token(token, USAGE)
    assert info.value.reason == "expired"
    assert len(list(settler.ledger.events())) == 0
    settler.release_token(token)  # releasing an expired token is harmless
    assert totals(settler) == (0, 0)


def test_altered_and_foreign_tokens_are_refused(
    make_warden: MakeWarden, budget_backend: str, tmp_path: Any
) -> None:
    clock = Clock(START)
    warden = make_warden(clock=clock, pricing=PRICING, budgets=DAILY)
    victim = warden.admit(call(attribution=Attribution(project="web")))
    mine = warden.admission_token(warden.admit(call(attribution=Attribution(project="web"))))
    prefix, payload, signature = mine.split(".")
    import base64

    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["reservations"] = list(victim.reservation_ids)  # someone else's reservation
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    with pytest.raises(AdmissionTokenError, match="signature does not match"):
        warden.release_token(f"{prefix}.{forged}.{signature}")
    with pytest.raises(AdmissionTokenError, match="signature does not match"):
        warden.settle_token(f"{prefix}.{forged}.{signature}", USAGE)
    assert totals(warden) == (0, 2 * to_units(Decimal("0.2")))  # both still held
    with Warden(database=f"sqlite:///{tmp_path / 'other.db'}", clock=clock) as elsewhere:
        with pytest.raises(AdmissionTokenError, match="another database") as info:
            elsewhere.settle_token(mine, USAGE)
        assert info.value.reason == "invalid"
    warden.release(victim)
    warden.release_token(mine)


def test_a_fallback_route_is_settled_as_admitted(make_warden: MakeWarden, budget_backend: str) -> None:
    clock = Clock(START)
    budgets = [
        {"id": "big", "scope": "model", "value": "big", "period": "day", "cost_usd": "0.10"}
        | {"action": "fallback", "fallback": ["chain"]}
    ]
    admitter, settler = pair(make_warden, budget_backend, clock, budgets=budgets, providers=PROVIDERS)
    admission = admitter.admit(call())
    assert admission.decision is Decision.FALLBACK
    event = settler.settle_token(admitter.admission_token(admission), USAGE)
    assert (event.provider, event.model) == (admission.provider, admission.model) != ("cloud", "big")


def test_no_budget_applies(make_warden: MakeWarden, budget_backend: str) -> None:
    """An admission without a reservation still crosses over, and expires after the reservation TTL."""
    clock = Clock(START)
    admitter, settler = pair(make_warden, budget_backend, clock, budgets=DAILY)
    admission = admitter.admit(call())  # no project: the daily budget's scope does not apply
    assert admission.reservation_ids == () and admission.expires is None
    token = admitter.admission_token(admission)
    assert settler.settle_token(token, USAGE).cost_total == Decimal("0.15")
    late = admitter.admission_token(admitter.admit(call()))
    clock.advance(timedelta(seconds=901))
    with pytest.raises(AdmissionTokenError, match="expired"):
        settler.settle_token(late, USAGE)


def test_without_budgets_at_all(tmp_path: Any) -> None:
    with Warden(database=f"sqlite:///{tmp_path / 'plain.db'}") as one:
        token = one.admission_token(one.admit(call(model="gpt-5", provider="openai")))
    with Warden(database=f"sqlite:///{tmp_path / 'plain.db'}") as two:
        event = two.settle_token(token, USAGE)
        assert two.ledger.get(event.id) == event


_CHILD = """
import json, os, sys
from costwarden.config import settings_from_mapping
from costwarden.core.calls import CallRequest
from costwarden.core.usage import Attribution, Usage
from costwarden.warden import Warden

config = json.loads(os.environ["CW_TEST_CONFIG"])
with Warden(settings_from_mapping(config), database=os.environ["CW_TEST_DATABASE"]) as warden:
    if sys.argv[1] == "admit":
        request = CallRequest(provider="cloud", model="big", input_tokens=100, max_tokens=100,
                              attribution=Attribution(project="web"))
        print(warden.admission_token(warden.admit(request)))
    else:
        event = warden.settle_token(sys.argv[2], Usage(input_tokens=100, output_tokens=50))
        print(event.id, event.cost_total)
"""


@pytest.mark.parametrize(
    "backend",
    [
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("redis", marks=pytest.mark.redis),
    ],
)
def test_admit_in_one_process_settle_in_another(backend: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("pg_url" if backend == "postgres" else "sqlite_url")
    config: dict[str, Any] = {"pricing": PRICING, "budgets": DAILY}
    if backend == "redis":
        config["redis_url"] = request.getfixturevalue("redis_server")
    env = {**os.environ, "CW_TEST_CONFIG": json.dumps(config), "CW_TEST_DATABASE": url}

    def child(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, *args],
            check=False,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    from costwarden.config import settings_from_mapping

    with Warden(settings_from_mapping(config), database=url) as here:
        if backend == "redis":
            engine_of(here).store.flush()  # type: ignore[attr-defined]
        token = child("admit")  # that process has ended; its reservation is held in the database
        assert totals(here) == (0, to_units(Decimal("0.2")))
        event = here.settle_token(token, USAGE)
        assert totals(here) == (to_units(Decimal("0.15")), 0)
        mine = here.admission_token(here.admit(call(attribution=Attribution(project="web"))))
        settled = child("settle", mine)
        assert settled.split() != [event.id, "0.15"] and settled.endswith(" 0.15")
        assert totals(here) == (to_units(Decimal("0.30")), 0)
        assert child("settle", token) == f"{event.id} 0.15"  # again, in yet another process: the same event
        if backend == "redis":
            engine_of(here).store.flush()  # type: ignore[attr-defined]
