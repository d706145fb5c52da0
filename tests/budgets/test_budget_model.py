"""Budgets equal the ledger under any interleaving: a model-based (hypothesis stateful) test on SQLite,
PostgreSQL and Redis counters.

The machine records and imports events (late ones too), admits, settles and releases calls, lets workers
die mid-call (their reservations are reclaimed after the deadline), restarts the process, rebuilds the
counters, lets Redis lose its data (Redis counters) and moves the injected clock across hour, day and
month ends. After every step, for every budget `budget status` shows: spent = the sum of the events in the
budget's current period and scope (recomputed by budget_model.py from what was stored, with its own period
arithmetic), reserved = the admissions still open; and no admission ever takes spent + reserved past a
limit, nor is a call refused that fitted.

Bounded in `make test`; the longer run is documented in docs/budgets.md (`HYPOTHESIS_PROFILE=long`, and
`BUDGET_MODEL_EXAMPLES` for another number of examples per backend).
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest
from budget_helpers import PRICING, call
from budget_model import (
    PERIODS,
    PROJECTS,
    SCOPES,
    BudgetDef,
    Hold,
    ModelEvent,
    OpenCall,
    Tally,
    check_status,
    expected,
    slot_of,
)
from budget_world import ClaudeMessage, World, engine_of
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from costwarden.budgets import BudgetEngine, SavedBudget
from costwarden.budgets.status import budget_status
from costwarden.clock import FixedClock
from costwarden.config import settings_from_mapping
from costwarden.core.money import to_units
from costwarden.core.usage import Attribution, Usage
from costwarden.errors import BudgetExceeded
from costwarden.importers import ClaudeCodeParser, import_files
from costwarden.storage.ledger import EventQuery
from costwarden.testing import agent_logs
from costwarden.warden import Warden

TTL = 600.0  # seconds until an unsettled reservation may be reclaimed
WORKERS = 2  # processes sharing the database (each its own Warden and engine)
REFRESH = 0.001  # how long a process may take to see a budget saved from the CLI (real seconds)
STARTS = (
    datetime(2026, 11, 30, 22, 50, tzinfo=UTC),  # month end
    datetime(2026, 12, 31, 23, 40, tzinfo=UTC),  # year end
    datetime(2028, 2, 28, 23, 30, tzinfo=UTC),  # the day before Feb 29
    datetime(2027, 3, 14, 9, 0, tzinfo=UTC),
)
BUDGET_IDS = ("b1", "b2", "b3")
MODELS = ("big", "small")
STEPS = (30.0, 600.0, TTL + 1, 3600.0, 6 * 3600.0, 86400.0)

settings.register_profile(
    "budget-model",
    max_examples=12,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "budget-model-long",
    max_examples=int(os.environ.get("BUDGET_MODEL_EXAMPLES", "200")),
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
PROFILE = settings.get_profile(
    "budget-model-long" if os.environ.get("HYPOTHESIS_PROFILE") == "long" else "budget-model"
)

definitions = st.builds(
    BudgetDef,
    period=st.sampled_from(PERIODS),
    scope=st.sampled_from(SCOPES),
    cost_usd=st.sampled_from([Decimal("0.5"), Decimal("2"), Decimal("5")]),
    tokens=st.none() | st.sampled_from([2500, 20000]),
    requests=st.none() | st.sampled_from([3, 20]),
)
projects = st.sampled_from((*PROJECTS, None))
workers = st.integers(0, WORKERS - 1)


# -- the machine ------------------------------------------------------------------------------------------


class BudgetMachine(RuleBasedStateMachine):
    world: ClassVar[World]
    redis_flush: ClassVar[bool] = False
    """Also let Redis lose its data (Redis counters only)."""
    revert_definitions: ClassVar[bool] = False
    """Also give a budget back a definition it had before. Off until test_model_findings.py passes."""

    def __init__(self) -> None:
        super().__init__()
        world = self.world
        world.examples += 1
        self.n = world.examples
        self.url = world.database(self.n)
        self.logs = world.tmp / f"logs-{self.n}"
        self.clock = FixedClock(STARTS[0])
        self.config_budgets: dict[str, BudgetDef] = {}
        self.cli_budgets: dict[str, BudgetDef] = {}
        self.events: dict[str, ModelEvent] = {}
        self.folded_before: datetime | None = None
        self.calls: list[OpenCall] = []
        self.ids = itertools.count(1)
        self.messages: list[ClaudeMessage] = []
        self.had: dict[str, set[BudgetDef]] = {}
        self.workers: list[Warden] = []

    # -- plumbing ------------------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self.clock.at

    @property
    def warden(self) -> Warden | None:
        """The first worker (the one the CLI's reads and writes go through)."""
        return self.workers[0] if self.workers else None

    def _open(self) -> Warden:
        """A worker process: a Warden on the shared database, reading the config as it is now."""
        data: dict[str, Any] = {
            "pricing": PRICING,
            "admission": {"reservation_ttl": TTL, "refresh": REFRESH},
            "retention": {"detailed_days": 2, "daily_days": 40},
            "budgets": [d.config(i) for i, d in sorted(self.config_budgets.items())],
        }
        if self.world.redis_url is not None:
            data["redis_url"] = self.world.redis_url
        return Warden(settings_from_mapping(data), database=self.url, clock=self.clock)

    @property
    def engine(self) -> BudgetEngine:
        return engine_of(self.workers[0])

    def _restart(self, worker: int | None = None) -> None:
        """A worker restarts (None: every worker, as after a config change), reading its config again;
        admissions it held stay open (as if another process held them)."""
        for n in range(WORKERS) if worker is None else [worker]:
            self.workers[n].close()
            self.workers[n] = self._open()

    def teardown(self) -> None:
        if self.workers:
            if self.world.redis_url is not None:
                self.engine.store.flush()  # type: ignore[attr-defined]
            for warden in self.workers:
                warden.close()
        self.world.drop()

    def budgets(self) -> dict[str, BudgetDef]:
        """The budgets in force: config wins over a budget of the same id saved from the CLI."""
        return {**self.cli_budgets, **self.config_budgets}

    def _state(self, *, include_expired: bool) -> dict[str, dict[str, tuple[Tally, Tally]]]:
        return {
            budget_id: expected(
                budget_id,
                definition,
                self.events.values(),
                self.calls,
                self.now,
                include_expired=include_expired,
            )
            for budget_id, definition in self.budgets().items()
        }

    def _stored(self, event_ids: list[str]) -> None:
        ledger = self.warden.ledger if self.warden is not None else None
        assert ledger is not None
        for event_id in event_ids:
            event = ledger.get(event_id)
            assert event is not None, f"event {event_id} was not stored"
            self.events[event_id] = ModelEvent.of(event)

    # -- setup ---------------------------------------------------------------------------------------------

    @initialize(
        start=st.sampled_from(STARTS),
        config=st.dictionaries(st.sampled_from(BUDGET_IDS), definitions, max_size=2),
        cli=st.dictionaries(st.sampled_from(BUDGET_IDS), definitions, max_size=2),
    )
    def setup(self, start: datetime, config: dict[str, BudgetDef], cli: dict[str, BudgetDef]) -> None:
        self.clock.set(start)
        self.config_budgets = dict(config)
        self.workers = [self._open() for _ in range(WORKERS)]
        for budget_id, definition in cli.items():
            self.engine.records.save_budget(SavedBudget(budget_id, definition.config(budget_id)))  # type: ignore[union-attr]
        self.cli_budgets = dict(cli)
        for budget_id, definition in self.budgets().items():
            self.had.setdefault(budget_id, set()).add(definition)
        time.sleep(2 * REFRESH)

    # -- spending without admission -----------------------------------------------------------------------

    @rule(
        worker=workers,
        project=projects,
        model=st.sampled_from(MODELS),
        input_tokens=st.integers(0, 400),
        output_tokens=st.integers(0, 400),
        age=st.sampled_from([0.0, 0.0, 300.0, 7200.0, 90000.0, 40 * 86400.0]),
    )
    def record(
        self, worker: int, project: str | None, model: str, input_tokens: int, output_tokens: int, age: float
    ) -> None:
        """`costwarden record` / `Warden.record`, also of calls that happened earlier (late arrivals), even
        before the cut of a `maintain` that already ran."""
        if self._folded(self.now - timedelta(seconds=age)):
            self.world.seen["recorded before the retention cut"] += 1
        event_id = f"ev-{next(self.ids)}"
        self.workers[worker].record(
            id=event_id,
            provider="cloud",
            model=model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            project=project,
            occurred_at=self.now - timedelta(seconds=age) if age else None,  # None: the Warden's clock
        )
        self._stored([event_id])
        assert self.events[event_id].at == self.now - timedelta(seconds=age)

    @rule(data=st.data())
    def record_again(self, data: st.DataObject) -> None:
        """Recording an event already stored changes nothing (idempotent on the id)."""
        kept = [e for e in self.events.values() if e.id.startswith("ev-") and not self._folded(e.at)]
        if not kept:
            return
        assert self.warden is not None
        event = self.warden.ledger.get(data.draw(st.sampled_from(sorted(e.id for e in kept))))
        assert event is not None
        self.warden.record(event)

    @rule(
        batch=st.lists(
            st.tuples(projects, st.sampled_from(MODELS), st.integers(0, 300), st.integers(0, 300)),
            min_size=1,
            max_size=4,
        )
    )
    def record_many(self, batch: list[tuple[str | None, str, int, int]]) -> None:
        """A batch (`Warden.record_many`, what importers call)."""
        from costwarden.core.usage import UsageEvent

        assert self.warden is not None
        events = [
            UsageEvent.create(
                id=f"ev-{next(self.ids)}",
                provider="cloud",
                model=model,
                input_tokens=inp,
                output_tokens=out,
                project=project,
                occurred_at=self.now - timedelta(seconds=5 * n),
            )
            for n, (project, model, inp, out) in enumerate(batch)
        ]
        self.warden.record_many(events)
        self._stored([e.id for e in events])

    @rule(
        project=st.sampled_from(PROJECTS),
        outputs=st.lists(st.integers(1, 3000), min_size=1, max_size=3),
        age=st.sampled_from([0.0, 600.0, 86400.0]),
    )
    def import_claude_code(self, project: str, outputs: list[int], age: float) -> None:
        """`costwarden import claude-code` of a new session log (streaming snapshots of each message)."""
        assert self.warden is not None
        self.logs.mkdir(parents=True, exist_ok=True)
        n = next(self.ids)
        path = self.logs / f"session-{n}.jsonl"
        at = (self.now - timedelta(seconds=age)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        lines = [agent_logs.claude_user(f"s{n}", f"/home/dev/{project}", at)]
        messages = [
            ClaudeMessage(path, f"s{n}", project, f"msg_{n}_{k}", f"req_{n}_{k}", at, output)
            for k, output in enumerate(outputs)
        ]
        for message in messages:
            lines += message.lines()
        agent_logs.write(path, lines)
        import_files(self.warden, ClaudeCodeParser(), [path])
        self._stored([m.event_id for m in messages])
        for message in messages:
            assert self.events[message.event_id].amounts.tokens == message.INPUT + message.output
        self.messages += messages

    @precondition(lambda self: bool(self.messages))
    @rule(data=st.data(), more=st.integers(1, 2000))
    def import_later_snapshot(self, data: st.DataObject, more: int) -> None:
        """The log grows: a later snapshot of a message replaces the earlier one (counted once)."""
        assert self.warden is not None
        message = data.draw(st.sampled_from(self.messages))
        if self._folded(datetime.fromisoformat(message.at)):
            return
        message.output += more
        agent_logs.append(message.path, [message.line(message.output)])
        import_files(self.warden, ClaudeCodeParser(), [message.path])
        self._stored([message.event_id])
        assert self.events[message.event_id].amounts.tokens == message.INPUT + message.output

    # -- calls ---------------------------------------------------------------------------------------------

    @rule(
        worker=workers,
        project=projects,
        model=st.sampled_from(MODELS),
        input_tokens=st.integers(0, 500),
        max_tokens=st.integers(1, 600),
    )
    def admit(self, worker: int, project: str | None, model: str, input_tokens: int, max_tokens: int) -> None:
        """A worker asks to make a call: admitted only if it fits every budget, else refused."""
        self._admit(worker, project, model, input_tokens, max_tokens)

    @rule(
        worker=workers,
        project=projects,
        model=st.sampled_from(MODELS),
        input_tokens=st.integers(0, 500),
        max_tokens=st.integers(1, 600),
        used=st.floats(0, 1),
    )
    def guarded_call(
        self, worker: int, project: str | None, model: str, input_tokens: int, max_tokens: int, used: float
    ) -> None:
        """A call admitted and settled at once (what `warden.guard` does around a provider call)."""
        open_call = self._admit(worker, project, model, input_tokens, max_tokens)
        if open_call is not None:
            self._settle(open_call, used)

    def _admit(
        self, worker: int, project: str | None, model: str, input_tokens: int, max_tokens: int
    ) -> OpenCall | None:
        warden = self.workers[worker]
        request = call(
            model=model,
            input_tokens=input_tokens,
            max_tokens=max_tokens,
            attribution=Attribution(project=project),
        )
        need = Tally(to_units(warden.worst_case(request)), input_tokens + max_tokens, 1)
        before = self._state(include_expired=False)
        budgets = self.budgets()
        short: list[str] = []
        holds: list[Hold] = []
        for budget_id, definition in budgets.items():
            scope = definition.scope_of(project)
            if scope is None:
                continue
            holds.append(Hold(budget_id, definition, scope, slot_of(definition.period, self.now)))
            spent, reserved = before[budget_id].get(scope, (Tally(), Tally()))
            for dimension, limit in definition.limits().items():
                wanted = need.of(dimension)
                if wanted and spent.of(dimension) + reserved.of(dimension) + wanted > limit:
                    short.append(
                        f"{budget_id} {scope} {dimension}: spent {spent.of(dimension)} + reserved "
                        f"{reserved.of(dimension)} + {wanted} > {limit}"
                    )
        try:
            admission = warden.admit(request)
        except BudgetExceeded as exc:
            assert short, f"refused a call that fits every budget: {exc}"
            self.world.seen["refused"] += 1
            self._reclaimed()  # a refusal sweeps expired reservations first
            return None
        assert not short, "admitted past a limit: " + "; ".join(short)
        self.world.seen["admitted" if holds else "admitted without a budget"] += 1
        assert bool(admission.reservation_ids) == bool(holds)
        opened = OpenCall(
            worker,
            admission,
            project,
            model,
            input_tokens,
            max_tokens,
            need,
            tuple(holds),
            deadline=self.clock() + TTL,
        )
        self.calls.append(opened)
        return opened

    def _live(self) -> list[OpenCall]:
        return [c for c in self.calls if not c.abandoned]

    @precondition(lambda self: any(not c.abandoned for c in self.calls))
    @rule(data=st.data(), used=st.floats(0, 1))
    def settle(self, data: st.DataObject, used: float) -> None:
        """The call returns: its real usage (never above max_tokens) replaces the reservation."""
        live = self._live()
        self._settle(live[data.draw(st.integers(0, len(live) - 1))], used)

    def _settle(self, open_call: OpenCall, used: float) -> None:
        self.calls.remove(open_call)
        usage = Usage(input_tokens=open_call.input_tokens, output_tokens=int(open_call.max_tokens * used))
        event = self.workers[open_call.worker].settle(open_call.admission, usage)
        self._stored([event.id])
        assert event.occurred_at == self.now, "a settlement is dated by the Warden's clock"

    @precondition(lambda self: any(not c.abandoned for c in self.calls))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        """The call failed before it cost anything: the reservation is given back."""
        live = self._live()
        open_call = live[data.draw(st.integers(0, len(live) - 1))]
        self.calls.remove(open_call)
        self.workers[open_call.worker].release(open_call.admission)

    @precondition(lambda self: any(not c.abandoned for c in self.calls))
    @rule(data=st.data())
    def kill_worker(self, data: st.DataObject) -> None:
        """The worker dies mid-call: nobody settles or releases; the hold stays until its deadline."""
        live = self._live()
        live[data.draw(st.integers(0, len(live) - 1))].abandoned = True
        self.calls = [c for c in self.calls if not (c.abandoned and c.reclaimed)]

    def _reclaimed(self) -> int:
        """Every reservation past its deadline is gone now (a sweep ran): returns how many were held."""
        stamp = self.clock()
        due = 0
        for open_call in self.calls:
            if open_call.deadline < stamp and not open_call.reclaimed:
                open_call.reclaimed = True
                due += 1
        self.calls = [c for c in self.calls if not (c.abandoned and c.reclaimed)]
        return due

    @rule()
    def sweep(self) -> None:
        """What every admitting process does every few seconds: drop reservations past their deadline."""
        freed = self.engine.store.reclaim(self.clock())
        self.world.seen["reclaimed"] += freed
        due = self._reclaimed()
        assert freed <= due, f"{freed} reservations reclaimed, {due} were past their deadline"

    # -- time, processes, repair ---------------------------------------------------------------------------

    @rule(seconds=st.sampled_from(STEPS))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule(before=st.sampled_from([1.0, 60.0]))
    def to_month_end(self, before: float) -> None:
        """Just before (then, with `advance`, past) the end of the month."""
        at = self.now
        following = (at.replace(day=1) + timedelta(days=32)).replace(
            day=1, hour=0, minute=0, second=0, microsecond=0
        )
        self.clock.set(following - timedelta(seconds=before))

    @rule(worker=workers)
    def restart(self, worker: int) -> None:
        """A worker process restarts."""
        self._restart(worker)

    @rule()
    def rebuild(self) -> None:
        """`costwarden budget rebuild` (repair): never changes what a correct counter says."""
        self.engine.rebuild()

    # -- budgets change, history is folded, Redis forgets ----------------------------------------------------

    def _folded(self, at: datetime) -> bool:
        return self.folded_before is not None and at < self.folded_before

    @rule(budget_id=st.sampled_from(BUDGET_IDS), definition=definitions)
    def budget_set(self, budget_id: str, definition: BudgetDef) -> None:
        """`costwarden budget set` (a new budget or a changed one): spend already in the period counts."""
        if self._reverts({**self.cli_budgets, budget_id: definition}, self.config_budgets):
            return
        self.engine.records.save_budget(SavedBudget(budget_id, definition.config(budget_id)))  # type: ignore[union-attr]
        self.cli_budgets[budget_id] = definition
        time.sleep(2 * REFRESH)

    @rule(budget_id=st.sampled_from(BUDGET_IDS))
    def budget_remove(self, budget_id: str) -> None:
        """`costwarden budget remove`."""
        if self._reverts({k: v for k, v in self.cli_budgets.items() if k != budget_id}, self.config_budgets):
            return
        removed = self.engine.records.remove_budget(budget_id)  # type: ignore[union-attr]
        assert removed == (budget_id in self.cli_budgets)
        self.cli_budgets.pop(budget_id, None)
        time.sleep(2 * REFRESH)

    @rule(budget_id=st.sampled_from(BUDGET_IDS), definition=st.none() | definitions)
    def config_edit(self, budget_id: str, definition: BudgetDef | None) -> None:
        """The config file's `budgets:` change (a budget added, changed or removed); the process restarts."""
        config = {k: v for k, v in self.config_budgets.items() if k != budget_id}
        if definition is not None:
            config[budget_id] = definition
        if self._reverts(self.cli_budgets, config):
            return
        self.config_budgets = config
        self._restart()

    def _reverts(self, cli: dict[str, BudgetDef], config: dict[str, BudgetDef]) -> bool:
        """Whether a change would bring back a definition a budget had before (A, B, then A again), a step
        left out unless `revert_definitions`; else remember the definitions now in force."""
        now = {**self.cli_budgets, **self.config_budgets}
        after = {**cli, **config}
        for budget_id, definition in after.items():
            earlier = definition in self.had.get(budget_id, set())
            if earlier and definition != now.get(budget_id) and not self.revert_definitions:
                return True
        for budget_id, definition in after.items():
            self.had.setdefault(budget_id, set()).add(definition)
        return False

    @precondition(lambda self: self.redis_flush and self.world.redis_url is not None)
    @rule()
    def redis_lost_its_data(self) -> None:
        """Redis restarts empty (no persistence): counters and reservations come back from SQL."""
        self.engine.store.flush()  # type: ignore[attr-defined]
        self.world.seen["Redis flushed"] += 1

    @rule()
    def maintain(self) -> None:
        """`costwarden maintain`: old events are folded into daily and monthly totals."""
        from costwarden.reports.retention import apply_retention

        assert self.warden is not None
        store = self.warden.backend.rollups
        assert store is not None
        result = apply_retention(
            store, self.warden.settings.retention, now=self.now, tz=self.warden.settings.tz
        )
        if result.plan.events_before is not None:
            cut = result.plan.events_before
            self.folded_before = cut if self.folded_before is None else max(cut, self.folded_before)

    # -- what must hold after every step -------------------------------------------------------------------

    @invariant()
    def ledger_keeps_every_event(self) -> None:
        if self.warden is None:
            return
        self.world.steps += 1
        stored = {e.id: ModelEvent.of(e) for e in self.warden.ledger.events(EventQuery())}
        for event_id, event in self.events.items():
            if event_id in stored:
                assert stored[event_id] == event, f"event {event_id} changed"
            else:
                assert self._folded(event.at), f"event {event_id} is missing from the ledger"
        unknown = set(stored) - set(self.events)
        assert not unknown, f"unexpected events {sorted(unknown)}"

    @invariant()
    def budgets_equal_the_ledger(self) -> None:
        if self.warden is None:
            return
        low = self._state(include_expired=False)
        high = self._state(include_expired=True)
        shown: dict[str, dict[str, dict[str, tuple[int, int, int]]]] = {}
        for row in budget_status(engine_of(self.workers[self.world.steps % WORKERS])):
            shown.setdefault(row.policy.id, {}).setdefault(row.scope, {})[row.dimension] = (
                row.limit,
                row.spent,
                row.reserved,
            )
        check_status(self.budgets(), shown, low, high, self.now)


# -- the tests ----------------------------------------------------------------------------------------------

BACKENDS = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("redis", marks=pytest.mark.redis),
]


@pytest.fixture
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    backend = request.param
    made = World(backend, tmp_path)
    if backend == "postgres":
        made.pg_server = request.getfixturevalue("pg_server")
    if backend == "redis":
        made.redis_url = request.getfixturevalue("redis_server")
    yield made
    made.drop()


def _run(world: World, **flags: bool) -> None:
    machine = type("BudgetModel", (BudgetMachine,), {"world": world, **flags})
    run_state_machine_as_test(machine, settings=PROFILE)  # type: ignore[arg-type]
    print(f"\n{world.summary()}")
    assert world.examples >= 1


@pytest.mark.parametrize("world", BACKENDS, indirect=True)
def test_budgets_equal_the_ledger(world: World) -> None:
    _run(world, redis_flush=True, revert_definitions=True)
