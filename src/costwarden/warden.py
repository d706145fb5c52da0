"""The Warden: where pricing, budgets and the ledger meet. One object per process (or per test).

from costwarden import Warden
warden = Warden.from_config()                       # config file + database as configured
event = warden.record(provider="openai", model="gpt-5", input_tokens=1200, output_tokens=300)
print(event.cost.total, event.cost.source)
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar, Unpack

from costwarden.clock import Clock, clock_from_env
from costwarden.config import Settings, load_settings, with_database
from costwarden.context import attribution_scope, current_attribution
from costwarden.core.admission_token import TokenClaims, decode_token, encode_token
from costwarden.core.calls import Admission, CallRequest, Decision, is_cancellation
from costwarden.core.controller import BudgetController, NullBudgets, RunSlot
from costwarden.core.recorder import SettleDetails, check_settle_details
from costwarden.core.usage import (
    Attribution,
    AttributionFields,
    CostBreakdown,
    CostSource,
    EventSource,
    EventStatus,
    Usage,
    UsageEvent,
    new_event_id,
)
from costwarden.errors import AdmissionTokenError
from costwarden.forking import ForkSafeLock
from costwarden.pricing.book import PriceBook
from costwarden.pricing.tiers import TierBook
from costwarden.storage.backend import Backend, backend_for_ledger, open_backend
from costwarden.storage.ledger import Ledger
from costwarden.tiers_in_force import TiersInForce

if TYPE_CHECKING:
    from costwarden.storage.budgets import AlertRecord

if TYPE_CHECKING:
    from costwarden.estimate import TokenEstimator
    from costwarden.quotas import Quotas
    from costwarden.quotas.exhaustion import ExhaustionGate, Routed

__all__ = ["BudgetController", "Warden"]

_EMPTY = Attribution()

_Client = TypeVar("_Client")


_NAMES = ("cost", "provider", "model", "given_provider", "given_model")
_EVENT_FIELDS = tuple(f for f in UsageEvent.__dataclass_fields__ if f not in _NAMES)


def _with_cost(event: UsageEvent, cost: CostBreakdown, names: tuple[str, str] | None = None) -> UsageEvent:
    """`event.with_cost(cost)` without validating the (already valid) event again; with `names`, the
    canonical provider and model replace the event's, and the names it was given are kept beside them."""
    out = object.__new__(UsageEvent)
    for name in _EVENT_FIELDS:
        object.__setattr__(out, name, getattr(event, name))
    object.__setattr__(out, "cost", cost)
    given_provider = event.given_provider or event.provider
    given_model = event.given_model or event.model
    provider, model = names if names is not None else (event.provider, event.model)
    object.__setattr__(out, "provider", provider)
    object.__setattr__(out, "model", model)
    object.__setattr__(out, "given_provider", None if given_provider == provider else given_provider)
    object.__setattr__(out, "given_model", None if given_model == model else given_model)
    return out


class Warden:
    """Records, prices and (with budgets configured) admits LLM calls.

    `Warden()` is `Warden.from_config()`: the config file and database the CLI would use (`$COSTWARDEN_CONFIG`
    or the user config file; `$COSTWARDEN_DATABASE_URL`, the file's `database:` or the default SQLite file),
    and so the budgets `costwarden budget set` stored there. Each argument given replaces its own part only:
    `settings` (then no config file is read; its `database`, else `$COSTWARDEN_DATABASE_URL`, else the
    default file), `database`, `ledger` (`MemoryLedger()` in tests), `backend` (all storage at once, see
    `costwarden.storage.open_backend`), `pricebook`, `budgets`, `clock`. A storage combination that
    cannot work (Redis counters beside a ledger in memory, configured budgets on a ledger without budget
    storage) is a `ConfigError` here. Nothing is opened until first use; `close()` (or `with Warden(...)`)
    releases the database.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        ledger: Ledger | None = None,
        database: str | None = None,
        backend: Backend | None = None,
        pricebook: PriceBook | None = None,
        budgets: BudgetController | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.clock: Clock = clock if clock is not None else clock_from_env()
        """Where "now" comes from: record defaults, worst-case pricing dates, settlement times and the
        budget engine's periods (default: `$COSTWARDEN_NOW` when set, else the system clock)."""
        self.settings = (
            load_settings(database=database) if settings is None else with_database(settings, database)
        )
        if backend is not None and ledger is not None:
            raise ValueError("give a backend or a ledger, not both")
        if backend is None:
            if ledger is not None:
                backend = backend_for_ledger(ledger, self.settings, budgets=budgets is None)
            else:
                from costwarden.config import default_database_url

                backend = open_backend(self.settings.database or default_database_url(), self.settings)
        self.backend: Backend = backend
        """Where everything is stored: the ledger, budget counters and records, quotas, import offsets,
        dismissed insights, rollups (see `costwarden.storage`)."""
        self.pricebook = pricebook if pricebook is not None else PriceBook(self.settings.pricing)
        self._tiers: TiersInForce | None = None
        self._budgets = budgets
        # threads racing to the first call open one ledger, one engine; a forked worker keeps using this
        # Warden (the ledger and engine reset their own connections, see `costwarden.forking`)
        self._lazy = ForkSafeLock(reentrant=True)

    @classmethod
    def from_config(
        cls,
        config: str | os.PathLike[str] | None = None,
        *,
        database: str | None = None,
        clock: Clock | None = None,
    ) -> Warden:
        """Load the config file (see `costwarden.config`) and build a Warden from it."""
        return cls(load_settings(config, database=database), clock=clock)

    # -- parts -------------------------------------------------------------------------------------------

    @property
    def ledger(self) -> Ledger:
        """The ledger, opened (and migrated) on first use."""
        return self.backend.ledger

    @property
    def tiers(self) -> TierBook:
        """The cost tiers in force: the config's `tiers:` section with the tiers set from the CLI (read
        from the database, again when they change)."""
        if self._tiers is None:
            with self._lazy:
                if self._tiers is None:
                    self._tiers = TiersInForce(self.settings, self.backend.tiers)
        return self._tiers.book()

    @property
    def budgets(self) -> BudgetController:
        """The budget engine, built from `settings.budgets` on first use (`NullBudgets` when none apply:
        every call is allowed and every event appended as it is)."""
        budgets = self._budgets
        if budgets is None:
            with self._lazy:
                if self._budgets is None:
                    self._budgets = self._build_budgets()
                budgets = self._budgets
        return budgets

    def _build_budgets(self) -> BudgetController:
        from costwarden.budgets import build_engine

        engine = build_engine(
            self.settings, self.backend, self.worst_case, clock=self.clock, names=self.pricebook.canonical
        )
        return engine if engine is not None else NullBudgets(self.ledger)

    def on_alert(self, callback: Callable[[AlertRecord], object]) -> Callable[[], None]:
        """Call `callback` with every new alert (threshold crossings, exhaustions); returns an unsubscribe
        function. Alerts are also logged (`costwarden.alerts`) and kept in the feed (`costwarden alerts`)."""
        from costwarden.budgets import BudgetEngine

        budgets = self.budgets
        if not isinstance(budgets, BudgetEngine):
            return lambda: None
        return budgets.hub.add(callback)

    def close(self) -> None:
        if self._budgets is not None:
            self._budgets.close()
        self.backend.close()

    def __enter__(self) -> Warden:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- recording ---------------------------------------------------------------------------------------

    def price(self, event: UsageEvent) -> UsageEvent:
        """The event with its cost computed (an event already carrying a cost is re-priced) and its canonical
        provider and model (the names given are kept in `given_provider` / `given_model`)."""
        book = self.pricebook
        return _with_cost(event, book.price(event), book.canonical(*event.names_given))

    def _prepare(self, event: UsageEvent | None, fields: dict[str, Any]) -> UsageEvent:
        if event is None:
            if fields.get("occurred_at") is None:
                fields["occurred_at"] = self.clock.now()
            event = UsageEvent.create(**fields)
            scope = current_attribution()
            if scope != _EMPTY:
                event = replace(event, attribution=scope.merged(event.attribution))
        elif fields:
            raise TypeError("pass either an event or keyword fields, not both")
        return self.price(event)

    def record(self, event: UsageEvent | None = None, /, **fields: Any) -> UsageEvent:
        """Price and store one event (or build it from keyword fields, as `UsageEvent.create`).

        Idempotent on the event id. Returns the event as stored, with its cost.
        """
        priced = self._prepare(event, fields)
        self.budgets.recorded([priced])
        return priced

    def record_many(self, events: Iterable[UsageEvent]) -> list[UsageEvent]:
        """Price and store many events in batches; returns them with their costs."""
        priced = [self.price(e) for e in events]
        if priced:
            self.budgets.recorded(priced)
        return priced

    # -- guarded calls -----------------------------------------------------------------------------------

    def worst_case(
        self, request: CallRequest, provider: str | None = None, model: str | None = None
    ) -> Decimal:
        """The most a call can cost: its input estimate plus `max_tokens` (or the configured cap) of
        output, priced as if sent to `provider`/`model` (default: the request's)."""
        output = (
            request.max_tokens
            if request.max_tokens is not None
            else self.settings.estimation.default_max_tokens
        )
        usage = Usage(input_tokens=request.input_tokens, output_tokens=output)
        cost = self.pricebook.price_usage(
            provider or request.provider,
            model or request.model,
            usage,
            self.clock.now(),
            service_tier=request.service_tier,
        )
        return cost.total

    def _in_scope(self, request: CallRequest) -> CallRequest:
        scope = current_attribution()
        if scope != _EMPTY:
            request = replace(request, attribution=scope.merged(request.attribution))
        return request

    def admit(self, request: CallRequest) -> Admission:
        """Reserve the call's worst case against every applicable budget (all or nothing).

        A provider account whose quota is exhausted (a 429, a window at 100 %) is not called until its
        reset: the call falls back, waits or is refused (`QuotaExhausted`), as its plan says (see
        docs/quotas.md). Raises `BudgetExceeded` when refused (`RunTerminated` for a terminated run,
        `QueueTimeout` when a queued call waited too long). The admission says which provider/model to
        call, and why.
        """
        request = self._in_scope(request)
        started = time.monotonic()
        while True:
            routed = self.exhaustion.plan(request, started)
            if not isinstance(routed, float):
                break
            time.sleep(routed)
        admission = self.budgets.admit(routed.request, self.worst_case(routed.request))
        return _around_wall(admission, request, routed)

    async def aadmit(self, request: CallRequest) -> Admission:
        """`admit` for async code: a queued call waits without blocking the event loop."""
        request = self._in_scope(request)
        started = time.monotonic()
        while True:
            routed = self.exhaustion.plan(request, started)
            if not isinstance(routed, float):
                break
            await asyncio.sleep(routed)
        admission = await self.budgets.aadmit(routed.request, self.worst_case(routed.request))
        return _around_wall(admission, request, routed)

    def settle(
        self,
        admission: Admission,
        usage: Usage,
        *,
        event_id: str | None = None,
        **details: Unpack[SettleDetails],
    ) -> UsageEvent:
        """Record the call's real usage and replace its reservation with the real cost.

        The event's id is `event_id` if given, else the admission's own (`request.request_id`): one call,
        one event, and settling the same admission again stores nothing twice. The provider's response and
        request ids are kept beside it (`provider_response_id`, `provider_request_id`), never used as the id.
        `estimated=True` marks usage that was not reported by the provider (e.g. a broken stream).
        `model` records the exact model the provider reported, when it differs from the admitted name.
        """
        if details:
            check_settle_details(details)
        request = admission.request
        duration_ms = details.get("duration_ms")
        event = UsageEvent(
            id=event_id or request.request_id,
            occurred_at=details.get("occurred_at") or self.clock.now(),
            provider=admission.provider,
            model=details.get("model") or admission.model,
            usage=usage,
            attribution=request.attribution,
            source=details.get("source", EventSource.SDK),  # type: ignore[arg-type]
            status=details.get("status", EventStatus.OK),  # type: ignore[arg-type]
            duration_ms=duration_ms if duration_ms is not None else admission.elapsed_ms,
            service_tier=details.get("service_tier") or request.service_tier,
            provider_cost=details.get("provider_cost"),
            provider_response_id=details.get("provider_response_id"),
            provider_request_id=details.get("provider_request_id"),
        )
        priced = self.price(event)
        if details.get("estimated") and priced.cost is not None and priced.cost.source == CostSource.COMPUTED:
            priced = _with_cost(priced, replace(priced.cost, source=CostSource.ESTIMATED))
        self.budgets.settle(admission, priced)
        admission.settled = True  # only once stored: a failed write leaves the reservation to release
        return priced

    def release(self, admission: Admission) -> None:
        """Give an admission's reservation back without recording usage."""
        if admission.settled:
            return
        admission.settled = True
        self.budgets.release(admission)

    def fail(
        self,
        admission: Admission,
        *,
        status: EventStatus | str = EventStatus.ERROR,
        usage: Usage | None = None,
        event_id: str | None = None,
        provider_request_id: str | None = None,
        source: EventSource | str = EventSource.SDK,
    ) -> UsageEvent:
        """Record a failed or cancelled call (usage zero unless known) and give the reservation back."""
        return self.settle(
            admission,
            usage or Usage(),
            status=status,
            event_id=event_id,
            provider_request_id=provider_request_id,
            source=source,
        )

    # -- admissions across processes ---------------------------------------------------------------------

    def admission_token(self, admission: Admission) -> str:
        """The admission as a signed, URL-safe text, so that another process or request (on the same
        database) can settle or release it: `settle_token`, `release_token`. It carries the call's id, the
        route admitted, the attribution, the reservations with what they hold per budget, and when it
        expires (the reservation's deadline, `admission.reservation_ttl` after admission). It is signed with
        the database's own key: an altered or made-up token is refused."""
        admitted_at = self.clock() - (time.monotonic() - admission.started)
        expires = admission.expires
        if expires is None:
            expires = admitted_at + self.settings.admission.reservation_ttl
        return encode_token(TokenClaims(admission, admitted_at, expires), self.backend.token_key())

    def settle_token(self, token: str, usage: Usage, **details: Unpack[SettleDetails]) -> UsageEvent:
        """`settle` for an admission given as a token (`admission_token`), in any process on the same
        database; `details` as `settle`'s keywords (the event's id is the admission's). Settling again with
        the same usage and status returns the event as stored. Raises `AdmissionTokenError`: `invalid` (not
        a token of this database), `expired` (its deadline passed: record the usage with `record`),
        `released` (its reservation was released or reclaimed), `conflict` (settled with other usage)."""
        claims = self._read_token(token)
        admission = claims.admission
        status = details.get("status", EventStatus.OK)
        stored = self._settled(admission, usage, status)
        if stored is not None:
            return stored
        now = self.clock()
        if now > claims.expires:
            raise AdmissionTokenError(
                f"admission {admission.request.request_id} expired {now - claims.expires:.0f} s before it "
                "was settled (its reservation may have been reclaimed); record the call's usage instead",
                reason="expired",
            )
        if not self.budgets.held(admission):
            stored = self._settled(admission, usage, status)  # settled by another process meanwhile
            if stored is not None:
                return stored
            raise AdmissionTokenError(
                f"admission {admission.request.request_id} holds no reservation any more: it was released "
                "or reclaimed",
                reason="released",
            )
        if details.get("duration_ms") is None:
            details["duration_ms"] = max(0, int((now - claims.admitted_at) * 1000))
        return self.settle(admission, usage, **details)

    def release_token(self, token: str) -> None:
        """`release` for an admission given as a token: its reservation is given back. Releasing again, or
        after settling or expiry, changes nothing. Raises `AdmissionTokenError` (`invalid`) for a text that
        is not a token of this database."""
        self.budgets.release(self._read_token(token).admission)

    def _read_token(self, token: str) -> TokenClaims:
        return decode_token(token, self.backend.token_key())

    def _settled(self, admission: Admission, usage: Usage, status: EventStatus | str) -> UsageEvent | None:
        """The event an admission was settled as, if it was; `AdmissionTokenError` (`conflict`) when it
        was settled with other usage or status."""
        stored = self.ledger.get(admission.request.request_id)
        if stored is None:
            return None
        if stored.usage != usage or stored.status != EventStatus(status):
            raise AdmissionTokenError(
                f"admission {admission.request.request_id} was settled already, with other usage or status",
                reason="conflict",
            )
        return stored

    @contextmanager
    def guard(self, request: CallRequest) -> Iterator[Admission]:
        """Admit a call for the block; if the block raises before settling, record it as failed."""
        admission = self.admit(request)
        with self._settled_on_exit(admission):
            yield admission

    @asynccontextmanager
    async def aguard(self, request: CallRequest) -> AsyncIterator[Admission]:
        """`guard` for async code (queued calls wait without blocking the event loop)."""
        admission = await self.aadmit(request)
        with self._settled_on_exit(admission):
            yield admission

    @contextmanager
    def _settled_on_exit(self, admission: Admission) -> Iterator[None]:
        try:
            yield
        except BaseException as exc:
            if not admission.settled:
                status = EventStatus.CANCELLED if is_cancellation(exc) else EventStatus.ERROR
                self.fail(admission, status=status)
            raise
        else:
            if not admission.settled:
                self.release(admission)

    @contextmanager
    def run(self, **fields: Unpack[AttributionFields]) -> Iterator[Attribution]:
        """Attribute every call made inside the block (threads and asyncio tasks included) to one run.

        Without `run` (and outside another run) a run id is generated, so per-run budgets apply: a
        `terminate_run` budget refuses the run's further calls with `RunTerminated`. Budgets with
        `concurrency: runs` hold a slot for the whole block (queueing up to their timeout).
        """
        attribution = _run_attribution(fields)
        with attribution_scope(attribution) as merged:
            slot = self.budgets.enter_run(merged)
            try:
                yield merged
            finally:
                self._exit_run(slot, merged)

    @asynccontextmanager
    async def arun(self, **fields: Unpack[AttributionFields]) -> AsyncIterator[Attribution]:
        """`run` for async code: waiting for a run slot does not block the event loop."""
        attribution = _run_attribution(fields)
        with attribution_scope(attribution) as merged:
            slot = await self.budgets.aenter_run(merged)
            try:
                yield merged
            finally:
                self._exit_run(slot, merged)

    def _exit_run(self, slot: RunSlot, attribution: Attribution) -> None:
        budgets = self.budgets
        budgets.exit_run(slot)
        if attribution.run is not None:
            budgets.forget_run(attribution.run)

    # -- capture -----------------------------------------------------------------------------------------

    def wrap(self, client: _Client, **defaults: Any) -> _Client:
        """Return a copy of the client whose calls are admitted, measured and recorded.

        Supports `openai.OpenAI`, `openai.AsyncOpenAI`, `anthropic.Anthropic` and `anthropic.AsyncAnthropic`
        (and their Azure, Bedrock and Vertex variants), and the clients of any adapter registered in
        `costwarden.integrations.providers` (docs/providers.md). `defaults`: `provider`, attribution
        (`project`, `agent`, ...), `tags`, `fallbacks`, `clients`, `allow_fallback`, `capabilities`; see
        docs/capture.md.
        """
        from costwarden.integrations import wrap_client

        return wrap_client(self, client, **defaults)

    @functools.cached_property
    def quotas(self) -> Quotas:
        """The latest known rate-limit quota per provider, read from the headers of wrapped calls."""
        from costwarden.quotas import Quotas
        from costwarden.storage.quotas import LazyQuotaStore

        return Quotas(LazyQuotaStore(lambda: self.backend.quotas), clock=self.clock)

    @functools.cached_property
    def exhaustion(self) -> ExhaustionGate:
        """Routes calls around provider accounts whose quota is exhausted (`costwarden.quotas.exhaustion`)."""
        from costwarden.core.routing import ProviderRegistry
        from costwarden.quotas.exhaustion import ExhaustionGate

        settings = self.settings
        return ExhaustionGate(
            self.quotas,
            plans=settings.subscriptions,
            registry=ProviderRegistry(settings.providers),
            clock=self.clock,
            tz=settings.tz,
            routing=settings.quota_routing,
            default_max_tokens=settings.estimation.default_max_tokens,
        )

    @functools.cached_property
    def estimator(self) -> TokenEstimator:
        """Pre-call input token estimates (`settings.estimation.safety_margin` for borrowed tokenizers)."""
        from costwarden.estimate import TokenEstimator

        return TokenEstimator(self.settings.estimation.safety_margin)


def _run_attribution(fields: AttributionFields) -> Attribution:
    """The attribution of a `run`/`arun` block; a run id is generated for a block that names none
    (outside any other run)."""
    values: dict[str, Any] = {**fields, "tags": fields.get("tags") or {}}
    attribution = Attribution(**values)
    if attribution.run is None and current_attribution().run is None:
        return replace(attribution, run=f"run-{new_event_id()[3:]}")
    return attribution


def _around_wall(admission: Admission, request: CallRequest, routed: Routed) -> Admission:
    """The admission of a call sent around an exhausted provider account: the request as the caller made
    it (so its adapter sees the switch), a fallback decision and the notice saying why."""
    if routed.notice is None:
        return admission
    return replace(
        admission,
        request=request,
        decision=Decision.FALLBACK,
        notices=(routed.notice, *admission.notices),
        reason=routed.notice,
    )
