"""A Redis outage never loses ledger events, and Redis is brought back in step.

Each test starts its own `redis-server` on a free port (no persistence) and kills it: events recorded,
settled or imported meanwhile are in the ledger, admission goes on on the SQL counters, status reads SQL,
and when Redis returns (empty, as after a restart) its counters equal the ledger again, reservations in
flight included.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costwarden.budgets import BudgetEngine
from costwarden.budgets.status import budget_status
from costwarden.cli import main
from costwarden.config import settings_from_mapping
from costwarden.core.calls import CallRequest
from costwarden.core.money import to_units
from costwarden.core.usage import Usage, UsageEvent
from costwarden.errors import BudgetExceeded
from costwarden.storage.ledger import EventQuery
from costwarden.warden import Warden

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
# $1000 per million tokens = $0.001 a token: a call of 100 input + 100 max output has a $0.20 worst case.
PRICING: dict[str, Any] = {
    "custom_models": [{"provider": "cloud", "model": "big", "input": "1000", "output": "1000"}]
}


class Clock:
    """A settable clock for the engine (epoch seconds)."""

    def __init__(self, at: datetime) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)


def call(input_tokens: int = 100, max_tokens: int = 100) -> CallRequest:
    return CallRequest(provider="cloud", model="big", input_tokens=input_tokens, max_tokens=max_tokens)


USAGE = Usage(input_tokens=100, output_tokens=100)  # $0.20 on cloud/big: exactly the worst case

pytestmark = pytest.mark.redis


class OwnRedis:
    """A `redis-server` of this test on its own port, without persistence: `kill()` loses everything."""

    def __init__(self, root: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.root = root
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        # the server runs on the real clock even when the suite runs under faketime (its LD_PRELOAD)
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("FAKETIME")}
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise AssertionError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is not installed (CI=true: the fault tests must run)")
        pytest.skip("redis-server is not installed")
    server = OwnRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


def make(url: str, redis: OwnRedis, clock: Clock, limit: str) -> Warden:
    settings = settings_from_mapping(
        {
            "pricing": PRICING,
            "redis_url": redis.url,
            "budgets": [{"id": "daily", "period": "day", "cost_usd": limit}],
        }
    )
    warden = Warden(settings, database=url)
    engine = warden.budgets
    assert isinstance(engine, BudgetEngine)
    engine.clock = clock  # type: ignore[assignment]
    return warden


def engine_of(warden: Warden) -> BudgetEngine:
    engine = warden.budgets
    assert isinstance(engine, BudgetEngine)
    return engine


def ledger_units(warden: Warden) -> int:
    return sum(to_units(e.cost_total) for e in warden.ledger.events(EventQuery()))


def status(warden: Warden) -> tuple[Decimal, Decimal]:
    (row,) = [r for r in budget_status(engine_of(warden), NOW) if r.dimension == "cost"]
    return Decimal(row.spent) / 10**10, Decimal(row.reserved) / 10**10


def spend(warden: Warden, clock: Clock) -> None:
    with warden.guard(call()) as admission:
        warden.settle(admission, USAGE, occurred_at=clock.at)


def test_outage_loses_no_event_and_admission_goes_on(sqlite_url: str, own_redis: OwnRedis) -> None:
    clock = Clock(NOW)
    warden = make(sqlite_url, own_redis, clock, "1.00")
    spend(warden, clock)
    spend(warden, clock)  # $0.40
    own_redis.kill()
    warden.record(provider="cloud", model="big", input_tokens=100, output_tokens=100, occurred_at=clock.at)
    spend(warden, clock)  # admitted and settled on the SQL counters: $0.80
    assert ledger_units(warden) == to_units(Decimal("0.80"))
    assert status(warden) == (Decimal("0.80"), Decimal(0))
    held = warden.admit(call())  # $1.00 with this one
    with pytest.raises(BudgetExceeded):
        warden.admit(call(input_tokens=1, max_tokens=1))
    own_redis.start()  # back, empty (a restart without persistence)
    with pytest.raises(BudgetExceeded):  # the reservation in flight came back with it
        warden.admit(call(input_tokens=1, max_tokens=1))
    warden.release(held)
    spend(warden, clock)  # $1.00: fits exactly
    assert ledger_units(warden) == to_units(Decimal("1.00"))
    assert status(warden) == (Decimal("1.00"), Decimal(0))
    with pytest.raises(BudgetExceeded):
        warden.admit(call(input_tokens=1, max_tokens=1))
    warden.close()


def test_restart_keeps_reservations_in_flight(sqlite_url: str, own_redis: OwnRedis) -> None:
    """A $0.02 budget, calls of $0.004 worst case: 3 in flight when Redis restarts; exactly 2 more fit."""
    clock = Clock(NOW)
    warden = make(sqlite_url, own_redis, clock, "0.02")
    small = {"input_tokens": 2, "max_tokens": 2}
    in_flight = [warden.admit(call(**small)) for _ in range(3)]
    own_redis.kill()
    own_redis.start()
    admitted: list[Any] = []
    for _ in range(5):
        with contextlib.suppress(BudgetExceeded):
            admitted.append(warden.admit(call(**small)))
    assert len(admitted) == 2
    for admission in in_flight + admitted:
        warden.settle(admission, Usage(input_tokens=2, output_tokens=2), occurred_at=clock.at)
    assert ledger_units(warden) == to_units(Decimal("0.02"))
    assert status(warden) == (Decimal("0.02"), Decimal(0))
    warden.close()


def test_calls_in_flight_when_redis_dies_settle_in_sql(sqlite_url: str, own_redis: OwnRedis) -> None:
    clock = Clock(NOW)
    warden = make(sqlite_url, own_redis, clock, "1.00")
    first, second = warden.admit(call()), warden.admit(call())
    own_redis.kill()
    assert status(warden) == (Decimal(0), Decimal("0.40"))  # SQL knows what this process holds
    warden.settle(first, USAGE, occurred_at=clock.at)
    warden.release(second)
    assert status(warden) == (Decimal("0.20"), Decimal(0))
    own_redis.start()
    assert status(warden) == (Decimal("0.20"), Decimal(0))  # nothing left held in Redis
    warden.close()


def test_cli_record_and_status_during_an_outage(
    sqlite_url: str, own_redis: OwnRedis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "costwarden.yaml"
    config.write_text(
        f"redis_url: {own_redis.url}\nbudgets:\n  - {{id: daily, period: day, cost_usd: 100}}\n",
        encoding="utf-8",
    )
    base = ["--db", sqlite_url, "--config", str(config)]
    record = ["record", "--provider", "openai", "--model", "gpt-4o", "--input-tokens", "1000000"]
    assert main([*base, *record]) == 0
    own_redis.kill()
    assert main([*base, *record]) == 0  # $2.50 each
    lines = [
        UsageEvent.create(provider="openai", model="gpt-4o", input_tokens=1_000_000, id=f"imported-{i}")
        for i in range(2)
    ]
    warden = Warden(settings_from_mapping({"redis_url": own_redis.url}), database=sqlite_url)
    warden.record_many(lines)  # the import path
    warden.close()
    capsys.readouterr()
    assert main([*base, "budget", "status", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"spent": "10.00"' in out
    assert main([*base, "report", "--json"]) == 0


def test_an_outage_keeps_the_calls_in_flight_of_every_process(sqlite_url: str, own_redis: OwnRedis) -> None:
    """Two processes on one ledger: what the first holds in Redis when it dies holds on the SQL counters the
    second admits on, and again in Redis when it returns empty."""
    clock = Clock(NOW)
    first = make(sqlite_url, own_redis, clock, "0.50")
    second = make(sqlite_url, own_redis, clock, "0.50")
    for warden in (first, second):
        engine_of(warden).store.retry = 0  # type: ignore[attr-defined]  # probe Redis at every call
    in_flight = [first.admit(call()), first.admit(call())]  # $0.40 of $0.50 held in Redis
    own_redis.kill()
    assert status(second) == (Decimal(0), Decimal("0.40"))  # on SQL: the first's calls are held there
    with pytest.raises(BudgetExceeded):
        second.admit(call())
    during = second.admit(call(input_tokens=10, max_tokens=10))  # $0.02 fits on SQL
    own_redis.start()  # back, empty
    assert status(second) == (Decimal(0), Decimal("0.42"))  # rebuilt: every call in flight held again
    with pytest.raises(BudgetExceeded):
        first.admit(call())
    assert status(first) == (Decimal(0), Decimal("0.42"))
    for admission in in_flight:
        first.settle(admission, USAGE, occurred_at=clock.at)
    second.release(during)
    assert ledger_units(first) == to_units(Decimal("0.40"))
    assert status(first) == status(second) == (Decimal("0.40"), Decimal(0))
    first.close()
    second.close()
