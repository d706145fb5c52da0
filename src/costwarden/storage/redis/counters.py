"""Budget counters and reservations in Redis, for hot budgets shared by many processes and hosts.

Every decision is one Lua script, so it is atomic on the server: `reserve` checks every need and either
holds all of them or none; `settle`, `release` and `reclaim` move a reservation's holds back. Keys share
one hash tag (`cw:{NAMESPACE}:...`) so a cluster keeps them in one slot.

The ledger stays the truth. Events are appended to the SQL ledger first; the counters follow. A Redis that
lost its data (restart without persistence, flush, failover) is noticed by the missing epoch key: the next
admission (or status) rebuilds the counters from the ledger before deciding, and settlements made
meanwhile are not counted twice (they are in the ledger the rebuild reads).

Reservations are never only in Redis. On a SQL ledger each one is also a row of its reservation journal
(`SqlBudgetStore.record`: `budget_reservations`, not counted on the SQL counters), written before the
reserve script decides and dropped when Redis refuses, in the append's transaction when the call settles,
and when it is released or reclaimed. A rebuild (after Redis lost its data, `budget rebuild`, the return
from an outage) holds every row in Redis again, whichever process took it, and drops the Redis holds that
have no row (settled or released meanwhile), while appends and journal writes are held off. A ledger
without SQL (tests) has no journal: each process holds its own calls in flight again at its next contact.

Counters are integers (cost in 10^-10 USD, up to 10^18 for a $100M limit). The scripts never hold an
amount as a Lua number (a double, exact only to 2^53 units, about $900,000): they add and compare decimal
strings split into 10^9 limbs, so every amount is exact.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection

from costwarden.clock import SYSTEM_CLOCK
from costwarden.core.admission import Amounts, CounterState, Need, Shortfall
from costwarden.core.usage import UsageEvent
from costwarden.errors import LedgerError, MissingExtraError
from costwarden.forking import after_fork_in_child
from costwarden.storage.budgets import (
    Counted,
    Derive,
    Reservation,
    ReserveResult,
    Settling,
    Spend,
    SpendsFor,
    decode_holds,
    encode_holds,
)
from costwarden.storage.codec import Row, decode_row
from costwarden.storage.ledger import AppendOutcome, Ledger
from costwarden.storage.sql.budget_store import SqlBudgetStore
from costwarden.storage.sql.engine import hold_appends
from costwarden.storage.sql.ledger import SqlLedger

__all__ = ["RedisCounterStore", "RedisUnreachable"]

_TIMEOUT = 2.0
"""Seconds a Redis connection or reply may take before Redis counts as unreachable."""

_FIELDS = ("sc", "st", "sr", "rc", "rt", "rr", "rn", "x")
_DIMS = ("cost", "tokens", "requests", "concurrent")

# Shared Lua. Amounts are decimal integer strings (cost in 10^-10 USD reaches 10^18): a Lua number is a
# double, exact only to 2^53 and printed as `1e+14` from 10^14 on, so amounts are never Lua numbers.
# `big` splits one into {high, low} limbs of 10^9 (each exact in a double), `add` and `cmp` work on limbs,
# `text` writes one back. Holds text: "key\tc\tt\tr\tn\n..." (amounts as strings).
_LIB = """
local B = 1000000000
local function norm(a)
  local carry = math.floor(a[2] / B)
  return {a[1] + carry, a[2] - carry * B}
end
local function big(s)
  if not s then return {0, 0} end
  local neg = string.sub(s, 1, 1) == '-'
  if neg then s = string.sub(s, 2) end
  local n = #s
  local hi, lo = 0, tonumber(s)
  if n > 9 then hi = tonumber(string.sub(s, 1, n - 9)); lo = tonumber(string.sub(s, n - 8)) end
  if neg then return norm({-hi, -lo}) end
  return {hi, lo}
end
local function add(a, b) return norm({a[1] + b[1], a[2] + b[2]}) end
local function cmp(a, b)
  if a[1] ~= b[1] then if a[1] < b[1] then return -1 else return 1 end end
  if a[2] ~= b[2] then if a[2] < b[2] then return -1 else return 1 end end
  return 0
end
local function text(a)
  local hi, lo = a[1], a[2]
  if hi == 0 then return string.format('%d', lo) end
  if hi > 0 then return string.format('%d%09d', hi, lo) end
  if lo == 0 then return string.format('%d%09d', hi, 0) end
  if hi == -1 then return string.format('-%d', B - lo) end
  return string.format('-%d%09d', -(hi + 1), B - lo)
end
local function negate(s)
  if string.sub(s, 1, 1) == '-' then return string.sub(s, 2) end
  return '-' .. s
end
local function unhold(holds, sign)
  for line in string.gmatch(holds, '[^\\n]+') do
    local k, c, t, r, n = string.match(line, '^(.*)\\t(%-?%d+)\\t(%-?%d+)\\t(%-?%d+)\\t(%-?%d+)$')
    local key = ARGV[1] .. 'c:' .. k
    local amounts = {rc = c, rt = t, rr = r, rn = n}
    for field, x in pairs(amounts) do
      if x ~= '0' and x ~= '-0' then
        if sign < 0 then x = negate(x) end
        redis.call('HINCRBY', key, field, x)
      end
    end
  end
end
local function take(id)
  local record = redis.call('HGET', ARGV[1] .. 'res', id)
  if not record then return 0 end
  redis.call('HDEL', ARGV[1] .. 'res', id)
  unhold(string.sub(record, string.find(record, '\\n', 1, true) + 1), -1)
  return 1
end
"""

# ARGV: prefix, id, record ("deadline\\tmeta\\nholds"), n_needs, then per need: the key it holds on, n_keys,
# enforce, 4 limits (-1: none), 4 requested, the keys it decides on (suffixes).
_RESERVE = (
    _LIB
    + """
local epoch = redis.call('GET', ARGV[1] .. 'epoch')
if not epoch then return {-1} end
if epoch ~= ARGV[#ARGV] then return {-2, epoch} end
local n = tonumber(ARGV[4])
local pos = 5
local out = {1}
local failed = false
local holds = {}
for i = 1, n do
  local nk = tonumber(ARGV[pos + 1]); local enforce = ARGV[pos + 2] == '1'
  local lim = {}
  local req = {}
  local raw = {}
  for d = 1, 4 do
    if ARGV[pos + 2 + d] == '-1' then lim[d] = false else lim[d] = big(ARGV[pos + 2 + d]) end
    raw[d] = ARGV[pos + 6 + d]
    req[d] = big(raw[d])
  end
  holds[i] = {ARGV[1] .. 'c:' .. ARGV[pos], raw}
  pos = pos + 11
  local s = {{0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}}
  local term = 0
  local oldest = 0
  for j = 1, nk do
    local v = redis.call('HMGET', ARGV[1] .. 'c:' .. ARGV[pos], 'sc', 'st', 'sr', 'rc', 'rt', 'rr', 'rn', 'x')
    local any = false
    for d = 1, 7 do
      if v[d] and v[d] ~= '0' then
        s[d] = add(s[d], big(v[d]))
        any = true
      end
    end
    if v[8] then term = 1 end
    if any and oldest == 0 then oldest = j end
    pos = pos + 1
  end
  local bad = 0
  if term == 1 then bad = 1 else
    for d = 1, 4 do
      if bad == 0 and lim[d] and cmp(req[d], {0, 0}) > 0 then
        local spent = {0, 0}
        if d <= 3 then spent = s[d] end
        if cmp(add(add(spent, s[3 + d]), req[d]), lim[d]) > 0 then bad = d end
      end
    end
  end
  if bad > 0 then
    if enforce then failed = true end
    local spent = {0, 0}
    if bad <= 3 then spent = s[bad] end
    table.insert(out, i); table.insert(out, bad); table.insert(out, text(spent))
    table.insert(out, text(s[3 + bad])); table.insert(out, term); table.insert(out, oldest)
  end
end
if failed then out[1] = 0; return out end
redis.call('HSET', ARGV[1] .. 'res', ARGV[2], ARGV[3])
local fields = {'rc', 'rt', 'rr', 'rn'}
for _, hold in ipairs(holds) do
  for d = 1, 4 do
    if hold[2][d] ~= '0' then redis.call('HINCRBY', hold[1], fields[d], hold[2][d]) end
  end
end
return out
"""
)

# ARGV: prefix, reservation id ('' for none), n, then per spend: key suffix, cost, tokens, requests.
# Returns the spent amounts after each spend (or {-1} when the counters were lost: the rebuild counts).
_SETTLE = (
    _LIB
    + """
if ARGV[2] ~= '' then take(ARGV[2]) end
if redis.call('EXISTS', ARGV[1] .. 'epoch') == 0 then return {-1} end
local out = {}
local pos = 4
for i = 1, tonumber(ARGV[3]) do
  local key = ARGV[1] .. 'c:' .. ARGV[pos]
  redis.call('HINCRBY', key, 'sc', ARGV[pos + 1])
  redis.call('HINCRBY', key, 'st', ARGV[pos + 2])
  redis.call('HINCRBY', key, 'sr', ARGV[pos + 3])
  local after = redis.call('HMGET', key, 'sc', 'st', 'sr')
  table.insert(out, after[1]); table.insert(out, after[2]); table.insert(out, after[3])
  pos = pos + 4
end
return out
"""
)

_RELEASE = _LIB + "return take(ARGV[2])"

# ARGV: prefix, id, record: hold again a reservation still in flight (Redis lost it), unless it is held.
_HOLD = (
    _LIB
    + """
if redis.call('HEXISTS', ARGV[1] .. 'res', ARGV[2]) == 1 then return 0 end
redis.call('HSET', ARGV[1] .. 'res', ARGV[2], ARGV[3])
unhold(string.sub(ARGV[3], string.find(ARGV[3], '\\n', 1, true) + 1), 1)
return 1
"""
)

_RECLAIM = (
    _LIB
    + """
local all = redis.call('HGETALL', ARGV[1] .. 'res')
local now = tonumber(ARGV[2])
local taken = 0
for i = 1, #all, 2 do
  local deadline = tonumber(string.match(all[i + 1], '^([^\\t]+)'))
  if deadline < now then taken = taken + take(all[i]) end
end
return taken
"""
)


def _redis_module() -> Any:
    try:
        import redis
    except ImportError:
        raise MissingExtraError("redis", "redis") from None
    return redis


def _record(r: Reservation) -> str:
    """A reservation as the scripts store it: `deadline\tkind\tlabel\tpid\thost\tcreated\nholds`."""
    return f"{r.deadline!r}\t{r.kind}\t{r.label}\t{r.pid}\t{r.host}\t{r.created}\n{encode_holds(r.holds)}"


def _glob(text: str) -> str:
    """`text` matched literally in a SCAN pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _pack(parts: Sequence[Any]) -> bytes:
    """One command in RESP (bytes, str, int and float arguments; a float as its repr)."""
    data = [p if isinstance(p, bytes) else str(p).encode() for p in parts]
    return b"*%d\r\n" % len(data) + b"".join([b"$%d\r\n%s\r\n" % (len(d), d) for d in data])


def _state(values: Sequence[Any]) -> CounterState:
    n = [int(v) if v is not None else 0 for v in values[:7]]
    return CounterState(Amounts(n[0], n[1], n[2]), Amounts(n[3], n[4], n[5], n[6]), values[7] is not None)


class RedisUnreachable(Exception):
    """Redis could not be reached (connection refused or lost, timeout) by a store that has a fallback."""


class RedisCounterStore:
    """`CounterStore` on Redis; events still go to `ledger` (the truth the counters are rebuilt from)."""

    def __init__(
        self,
        url: str,
        ledger: Ledger,
        *,
        namespace: str | None = None,
        client: Any = None,
        journal: SqlBudgetStore | None = None,
    ) -> None:
        redis = _redis_module()
        self.ledger = ledger
        if journal is None and isinstance(ledger, SqlLedger):
            journal = SqlBudgetStore(ledger)
        self.journal = journal
        """Where every reservation held in Redis is also recorded (the ledger's `budget_reservations`);
        None for a ledger without SQL."""
        self.client = (
            client
            if client is not None
            else redis.Redis.from_url(url, socket_timeout=_TIMEOUT, socket_connect_timeout=_TIMEOUT)
        )
        self.unreachable: tuple[type[BaseException], ...] = (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
        )
        self.fallback = False
        """Set by `FallbackCounterStore`: an unreachable Redis raises `RedisUnreachable`, and a settlement
        whose counting failed keeps its append (it is counted from the ledger by the fallback)."""
        self.open: dict[str, tuple[str, Reservation]] = {}
        """Without a journal: this process's reservations held in Redis (record text, reservation), held
        again if Redis loses them."""
        self._epoch_seen = ""
        if namespace is None:
            namespace = hashlib.sha1(repr(ledger).encode()).hexdigest()[:10]
        self.prefix = f"cw:{{{namespace}}}:"
        self._epoch = (self.prefix + "epoch").encode()
        self._prefix = self.prefix.encode()
        self._conns = threading.local()
        self._noscript = redis.exceptions.NoScriptError
        self._dropped = redis.exceptions.ConnectionError
        self._reserve = self.client.register_script(_RESERVE)
        self._settle = self.client.register_script(_SETTLE)
        self._release = self.client.register_script(_RELEASE)
        self._hold = self.client.register_script(_HOLD)
        self._reclaim = self.client.register_script(_RECLAIM)
        self._local = threading.local()
        self._rebuild_lock = threading.Lock()
        self._parents_pools: list[Any] = []
        after_fork_in_child(self)
        self.rebuild_counters: Callable[[], int] | None = None
        """Set by the engine: recompute the counters from the ledger (used when Redis lost them)."""
        hook = getattr(ledger, "add_raw_write_hook", None) or getattr(ledger, "add_write_hook", None)
        self._hooked = hook is not None
        if hook is not None:
            hook(self._written)

    def after_fork_in_child(self) -> None:
        """A forked child takes a new connection pool: the parent's sockets (maybe mid-reply) are its own,
        and so is the pool's lock, which another thread of the parent may have held at the fork (the
        pool's own `reset()` takes that lock, and would wait for it forever). The parent's pool is kept
        referenced, never closed or collected here: its connections belong to the parent."""
        parents = self.client.connection_pool
        self._parents_pools.append(parents)
        self.client.connection_pool = type(parents)(
            connection_class=parents.connection_class,
            max_connections=parents.max_connections,
            **parents.connection_kwargs,
        )
        self._conns = threading.local()
        self._rebuild_lock = threading.Lock()

    def _call(self, script: Any, args: Sequence[Any]) -> Any:
        try:
            return self._evalsha(script, args)
        except Exception as exc:
            if self.fallback and isinstance(exc, self.unreachable):
                raise RedisUnreachable(str(exc)) from exc
            if type(exc).__module__.startswith("redis"):
                raise LedgerError(f"Redis budget counters failed: {exc}") from exc
            raise

    def _connection(self) -> Any:
        """This thread's own connection from the client's pool (a forked child takes a new one)."""
        local = self._conns
        conn = getattr(local, "conn", None)
        if conn is None or local.pid != os.getpid():
            conn = self.client.connection_pool.get_connection()
            local.conn, local.pid = conn, os.getpid()
        return conn

    def _evalsha(self, script: Any, args: Sequence[Any]) -> Any:
        """EVALSHA on this thread's connection, packed here: one write, one read, none of the client's
        per-command machinery (the scripts are the hot path). A missing script is loaded once."""
        packed = _pack((b"EVALSHA", script.sha, 1, self._epoch, self._prefix, *args))
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.send_packed_command([packed], check_health=False)
                return conn.read_response()
            except self._noscript:
                self.client.script_load(script.script)
                conn.send_packed_command([packed], check_health=False)
                return conn.read_response()
            except BaseException as exc:
                conn.disconnect()  # the reply may still be on its way: never reuse the connection as is
                self._conns.conn = None
                if attempt == 1 and isinstance(exc, self._dropped):
                    continue  # the server closed it (idle timeout, restart): once more, as the client would
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    # -- counters ----------------------------------------------------------------------------------------

    def reserve(self, reservation: Reservation, needs: Sequence[Need]) -> ReserveResult:
        r = reservation
        record = _record(r)
        args: list[Any] = [r.id, record, len(needs)]
        for need in needs:
            limits = need.applied.limits
            args.append(need.key)
            args.append(len(need.keys))
            args.append(1 if need.enforce else 0)
            args.extend(-1 if limits.of(d) is None else limits.of(d) for d in _DIMS)
            args.extend(need.amounts.as_tuple())
            args.extend(need.keys)
        journal = self.journal
        if journal is not None:  # first: a rebuild from now on holds it (and it decides again below)
            journal.record(r)
        try:
            result = self._decide(r.id, args)
        except BaseException:
            if journal is not None:
                journal.release(r.id)
            raise
        if int(result[0]) != 1:
            if journal is not None:
                journal.release(r.id)
        elif journal is None:
            self.open[r.id] = (record, r)
        short: list[Shortfall] = []
        over: list[Shortfall] = []
        for i in range(1, len(result), 6):
            need = needs[int(result[i]) - 1]
            dim = _DIMS[int(result[i + 1]) - 1]
            oldest = int(result[i + 5])
            shortfall = Shortfall(
                need,
                dim,
                need.applied.limits.of(dim) or 0,
                int(result[i + 2]),
                int(result[i + 3]),
                need.amounts.of(dim),
                terminated=bool(int(result[i + 4])),
                oldest=need.keys[oldest - 1] if oldest else None,
            )
            (short if need.enforce else over).append(shortfall)
        return ReserveResult(int(result[0]) == 1, tuple(short), tuple(over))

    def _decide(self, reservation_id: str, args: Sequence[Any]) -> Any:
        """Run the reserve script; when the counters were rebuilt first (by this process or another), catch
        up and run it again."""
        result: Any = None
        for _ in range(3):
            result = self._call(self._reserve, [*args, self._epoch_seen])
            code = int(result[0])
            if code >= 0:
                return result
            if code == -1:  # Redis lost the counters: rebuild them
                self._recover()
            else:  # another process rebuilt them
                self._hold_open(result[1].decode() if isinstance(result[1], bytes) else str(result[1]))
            if self.journal is not None:  # the rebuild may have held this one from its row: decide afresh
                self._call(self._release, [reservation_id])
        raise LedgerError("Redis budget counters were lost again while rebuilding them")

    def _recover(self) -> None:
        """Redis lost the counters: rebuild them from the ledger once (other processes wait for it)."""
        with self._rebuild_lock:
            self._rebuild_once()
        epoch = self.client.get(self.prefix + "epoch")
        if epoch is not None:
            self._hold_open(epoch.decode())

    def _rebuild_once(self) -> None:
        if not self.client.exists(self.prefix + "epoch"):
            lock = self.client.set(self.prefix + "rebuilding", "1", nx=True, ex=60)
            if not lock:
                deadline = time.monotonic() + 60
                while not self.client.exists(self.prefix + "epoch") and time.monotonic() < deadline:
                    time.sleep(0.01)
                return
            try:
                if self.rebuild_counters is not None:
                    self.rebuild_counters()
                else:  # no engine to count the ledger: calls in flight only
                    self.rebuild((), dict)
            finally:
                self.client.delete(self.prefix + "rebuilding")

    def _hold_open(self, epoch: str) -> None:
        """Note a new epoch (the counters were rebuilt). Without a journal, hold again in Redis every
        reservation this process has in flight (the first epoch a process sees needs nothing: it held
        nothing before it); with one, the rebuild held them all."""
        if epoch == self._epoch_seen:
            return
        if self._epoch_seen and self.journal is None:
            for reservation_id, (record, _) in list(self.open.items()):
                self._call(self._hold, [reservation_id, record])
        self._epoch_seen = epoch

    def settle(
        self, reservation_id: str | None, events: Sequence[UsageEvent], spends_for: SpendsFor
    ) -> list[Counted]:
        """Append to the ledger; its write hook moves the reservation and counts the spends in Redis
        while the append's transaction is open (so a rebuild, which holds the ledger's write lock, never
        misses or double-counts it). Ledgers without write hooks are appended to first, then counted."""
        pending = Settling(reservation_id, {e.id: e for e in events}, spends_for)
        if reservation_id is not None:  # no longer to be held again once its settlement has begun
            self.open.pop(reservation_id, None)
        if self._hooked:
            self._local.pending = pending
            try:
                if len(events) == 1:
                    self.ledger.append(events[0])
                elif events:
                    self.ledger.append_many(events)
            finally:
                self._local.pending = None
        else:
            spends: list[Spend] = []
            for event in events:
                previous = self.ledger.get(event.id)
                outcome = self.ledger.append(event)
                if outcome is not AppendOutcome.UNCHANGED:
                    spends.extend(spends_for(event, previous if outcome is AppendOutcome.REPLACED else None))
            self._count(pending, spends)
        if pending.unreachable is not None:  # the events are in the ledger; the fallback counts them
            raise RedisUnreachable(str(pending.unreachable)) from pending.unreachable
        if reservation_id is not None and not pending.taken:
            self.release(reservation_id)
        if pending.lost:
            self._recover()  # after the append committed: the rebuild reads this event from the ledger
        return pending.counted

    def _count(self, pending: Settling, spends: Sequence[Spend]) -> None:
        args: list[Any] = [pending.reservation_id or "", len(spends)]
        for spend in spends:
            args.extend((spend.key, spend.amounts.cost, spend.amounts.tokens, spend.amounts.requests))
        result = self._call(self._settle, args)
        pending.taken = pending.reservation_id is not None
        if len(result) == 1 and int(result[0]) == -1:
            pending.lost = True
            return
        if not spends:
            return
        for i, spend in enumerate(spends):
            after = Amounts(int(result[3 * i]), int(result[3 * i + 1]), int(result[3 * i + 2]))
            pending.counted.append(Counted(spend, after - spend.amounts))

    def _written(self, cursor: Any, written: Sequence[Row], replaced: Sequence[Row]) -> None:
        """The ledger's write hook, for appends made through `settle`: the reservation's journal row goes
        in the append's transaction, then Redis counts."""
        pending: Settling | None = getattr(self._local, "pending", None)
        if pending is None:
            return
        if self.journal is not None and pending.reservation_id is not None:
            self.journal.drop_in(cursor, pending.reservation_id)
        old = {row[0]: row for row in replaced}
        spends: list[Spend] = []
        for row in written:
            event = pending.events.get(row[0]) or decode_row(row)
            previous = old.get(row[0])
            spends.extend(pending.spends_for(event, decode_row(previous) if previous is not None else None))
        try:
            self._count(pending, spends)
        except RedisUnreachable as exc:  # never roll the append back for Redis
            pending.unreachable = exc

    def release(self, reservation_id: str) -> bool:
        """Drop the journal row first: a rebuild in between never holds the call again."""
        self.open.pop(reservation_id, None)
        recorded = self.journal.release(reservation_id) if self.journal is not None else False
        return bool(int(self._call(self._release, [reservation_id]))) or recorded

    def held(self, reservation_id: str) -> bool:
        """The journal answers when there is one (it holds every reservation, also while Redis is down)."""
        if self.journal is not None:
            return self.journal.held(reservation_id)
        return bool(self.client.hexists(self.prefix + "res", reservation_id))

    def reclaim(self, now: float) -> int:
        recorded = self.journal.reclaim(now) if self.journal is not None else 0
        return max(recorded, int(self._call(self._reclaim, [repr(now)])))

    def states(self, keys: Sequence[str]) -> dict[str, CounterState]:
        pipe = self.client.pipeline(transaction=False)
        pipe.exists(self._epoch)
        for key in keys:
            pipe.hmget(self.prefix + "c:" + key, *_FIELDS)
        found = pipe.execute()
        if not found[0]:  # Redis lost the counters: answer from the rebuilt ones, calls in flight held again
            self._recover()
            return self.states(keys)
        out: dict[str, CounterState] = {}
        for key, values in zip(keys, found[1:], strict=True):
            if any(v is not None for v in values):
                out[key] = _state(values)
        return out

    def counters(self, budget_id: str) -> dict[str, CounterState]:
        if not self.client.exists(self._epoch):  # Redis lost the counters: list the rebuilt ones
            self._recover()
        start = len(self.prefix) + 2
        keys = [
            k.decode()[start:]
            for k in self.client.scan_iter(match=f"{self.prefix}c:{budget_id}|*", count=1000)
        ]
        return self.states(keys)

    def terminate(self, key: str) -> None:
        self.client.hset(self.prefix + "c:" + key, "x", str(SYSTEM_CLOCK()))

    def reservations(self) -> list[Reservation]:
        out: list[Reservation] = []
        for rid, value in self.client.hgetall(self.prefix + "res").items():
            meta, _, holds = value.decode().partition("\n")
            deadline, kind, label, pid, host, created = meta.split("\t")
            out.append(
                Reservation(
                    rid.decode(),
                    decode_holds(holds),
                    float(deadline),
                    int(pid),
                    host,
                    kind,
                    label,
                    float(created),
                )
            )
        return sorted(out, key=lambda r: r.created)

    @contextmanager
    def _appends_held(self, *, journal: bool = False) -> Iterator[Connection | None]:
        """Hold off ledger appends (SQLite: the write lock; PostgreSQL: a SHARE lock on `events`, and with
        `journal` on `budget_reservations` too); yields the connection holding them."""
        write = getattr(self.ledger, "write", None)
        if write is None:
            yield None
            return
        with write() as conn:
            hold_appends(conn, *(("budget_reservations",) if journal else ()))
            yield conn

    def underived(self, budget_id: str, fingerprint: str, periods: Sequence[str]) -> list[str]:
        return self._underived(budget_id, fingerprint, periods) if periods else []

    def _underived(self, budget_id: str, fingerprint: str, periods: Sequence[str]) -> list[str]:
        values = self.client.hmget(self.prefix + "derived", [f"{budget_id}|{p}" for p in periods])
        return [p for p, v in zip(periods, values, strict=True) if v is None or v.decode() != fingerprint]

    def derive(self, budget_id: str, fingerprint: str, periods: Sequence[str], compute: Derive) -> int:
        """Derive the counters of periods not derived under `fingerprint` while ledger appends are held off
        (settlements count in Redis inside their append's transaction, so none is missed or doubled)."""
        if not periods or not self._underived(budget_id, fingerprint, periods):
            return 0
        with self._appends_held():
            missing = self._underived(budget_id, fingerprint, periods)
            if not missing:
                return 0
            spent = compute(missing)
            pipe = self.client.pipeline(transaction=True)
            for period in missing:
                pattern = f"{self.prefix}c:{_glob(budget_id)}|*|{_glob(period)}"
                for key in self.client.scan_iter(match=pattern, count=1000):
                    pipe.hset(key, mapping={"sc": 0, "st": 0, "sr": 0})
            for key, amounts in spent.items():
                pipe.hset(
                    self.prefix + "c:" + key,
                    mapping={"sc": amounts.cost, "st": amounts.tokens, "sr": amounts.requests},
                )
            pipe.hset(self.prefix + "derived", mapping={f"{budget_id}|{p}": fingerprint for p in missing})
            # Periods derived under another definition: derive them again when it returns.
            derived = self.client.hscan_iter(self.prefix + "derived", match=f"{_glob(budget_id)}|*")
            stale = [field for field, value in derived if value.decode() != fingerprint]
            if stale:
                pipe.hdel(self.prefix + "derived", *stale)
            pipe.execute()
        return len(missing)

    def derived_budgets(self) -> set[str]:
        return {field.decode().rpartition("|")[0] for field in self.client.hkeys(self.prefix + "derived")}

    def forget(self, budget_ids: Collection[str]) -> None:
        prefixes = tuple(f"{b}|".encode() for b in budget_ids)
        if not prefixes:
            return
        forgotten = [f for f in self.client.hkeys(self.prefix + "derived") if f.startswith(prefixes)]
        if forgotten:
            self.client.hdel(self.prefix + "derived", *forgotten)

    def rebuild(self, budget_ids: Sequence[str], compute: Callable[[], Mapping[str, Amounts]]) -> int:
        """Recompute spent amounts from the ledger while appends are held off, and make the reservations
        held equal the journal's (see the module docstring). The epoch key is written last, so admissions
        waiting on a lost Redis resume on complete counters."""
        with self._appends_held(journal=self.journal is not None) as conn:
            spent = compute()
            pipe = self.client.pipeline(transaction=True)
            for budget_id in budget_ids:
                for key in self.client.scan_iter(match=f"{self.prefix}c:{budget_id}|*", count=1000):
                    pipe.hset(key, mapping={"sc": 0, "st": 0, "sr": 0})
            for key, amounts in spent.items():
                pipe.hset(
                    self.prefix + "c:" + key,
                    mapping={"sc": amounts.cost, "st": amounts.tokens, "sr": amounts.requests},
                )
            prefixes = tuple(f"{b}|".encode() for b in budget_ids)
            forgotten = [f for f in self.client.hkeys(self.prefix + "derived") if f.startswith(prefixes)]
            if forgotten:
                pipe.hdel(self.prefix + "derived", *forgotten)
            if self.journal is not None and conn is not None:
                self._held_as_recorded(pipe, self.journal.recorded(conn))
            pipe.set(self.prefix + "epoch", str(SYSTEM_CLOCK()))
            pipe.execute()
        return len(spent)

    def _held_as_recorded(self, pipe: Any, recorded: Sequence[Reservation]) -> None:
        """Queue on `pipe` what makes the reservations held in Redis those of the journal: hold each row
        not held (whichever process took it), drop each hold without a row (settled, released or
        reclaimed while Redis could not be told). Journal writes are held off meanwhile."""
        rows = {r.id.encode(): r for r in recorded}
        for stale in set(self.client.hkeys(self.prefix + "res")) - rows.keys():
            self._release(keys=[self._epoch], args=[self._prefix, stale], client=pipe)
        for reservation in rows.values():
            args = [self._prefix, reservation.id, _record(reservation)]
            self._hold(keys=[self._epoch], args=args, client=pipe)

    def flush(self) -> None:
        """Forget every counter and reservation of this namespace (tests; a lost Redis looks like this)."""
        for key in self.client.scan_iter(match=f"{self.prefix}*", count=1000):
            self.client.delete(key)

    def close(self) -> None:
        remove = getattr(self.ledger, "remove_write_hook", None)
        if remove is not None and self._hooked:
            with contextlib.suppress(ValueError):
                remove(self._written)
        self.client.close()
