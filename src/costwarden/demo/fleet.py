"""The simulated fleet: a scripted day of agent calls sent through the real Warden and the real OpenAI and
Anthropic SDKs to the built-in fake provider (`costwarden.testing.FakeProvider`, on 127.0.0.1).

Nothing here talks to a real API or spends real money. The script is built from a seeded random number
generator, so the same `seed` gives the same calls, tokens and costs.

The projects and what they are there to show:

- `backend-api`: `feature-dev` on gpt-5 with cache hits, under the `Cloud` budget; when that runs out the
  calls fall back to the local `ollama/llama3.1`.
- `frontend`: `reviewer` on claude-opus-4-1 writing short answers (a premium model on small outputs),
  `clarifier` on gpt-5-mini with one failing call, and `bugfix-dev` in a runaway run that the per-run cap
  terminates.
- `data-pipeline`: `summarizer` sending big prompts to claude-sonnet-4-6 without cache reads, until the
  project's monthly budget blocks it.
- `research`: one long-context call to gpt-5.4 (over 272k input tokens, priced at its long-context rates).

The whole fleet passes the warn-only daily budget, so later calls carry a warning.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from costwarden.errors import BudgetExceeded, RunTerminated
from costwarden.testing import FakeProvider, Reply
from costwarden.warden import Warden

__all__ = ["Call", "FleetResult", "script", "run_fleet"]

_WORD = "lorem "  # about 1.5 tokens per word; the text only sizes the input estimate


@dataclass(frozen=True, slots=True)
class Call:
    """One scripted call."""

    project: str
    agent: str
    api: str  # "openai" or "anthropic"
    model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    session: str | None = None
    run: str | None = None
    error: int | None = None
    note: str = ""


@dataclass
class FleetResult:
    """What happened: counts of outcomes and the lines of the log."""

    calls: int = 0
    recorded: int = 0
    failed: int = 0
    warned: int = 0
    blocked: int = 0
    terminated: int = 0
    fallbacks: int = 0
    log: list[str] = field(default_factory=list)


def script(seed: int) -> list[Call]:
    """The day's calls, interleaved as a fleet would make them."""
    rnd = random.Random(seed)

    def jitter(n: int) -> int:
        return max(1, int(n * rnd.uniform(0.85, 1.15)))

    backend = [
        Call(
            "backend-api",
            "feature-dev",
            "openai",
            "gpt-5",
            jitter(18_000),
            jitter(900),
            cache_read_tokens=jitter(12_000) if i % 3 else 0,
            session=f"be-{i // 4 + 1}",
            run=f"be-run-{i}",
        )
        for i in range(12)
    ]
    reviewer = [
        Call(
            "frontend",
            "reviewer",
            "anthropic",
            "claude-opus-4-1",
            jitter(2_500),
            jitter(300),
            cache_read_tokens=jitter(15_000),
            session=f"fe-review-{i // 4 + 1}",
        )
        for i in range(8)
    ]
    clarifier = [
        Call(
            "frontend",
            "clarifier",
            "openai",
            "gpt-5-mini",
            jitter(4_000),
            jitter(600),
            session="fe-clarify",
            error=500 if i == 3 else None,
            note="a provider error" if i == 3 else "",
        )
        for i in range(6)
    ]
    runaway = [
        Call(
            "frontend",
            "bugfix-dev",
            "anthropic",
            "claude-opus-4-1",
            jitter(4_000),
            jitter(1_400),
            session="fe-bugfix",
            run="runaway-loop",
        )
        for _ in range(6)
    ]
    pipeline = [
        Call(
            "data-pipeline",
            "summarizer",
            "anthropic",
            "claude-sonnet-4-6",
            jitter(20_000),
            jitter(900),
            session=f"dp-{i // 3 + 1}",
        )
        for i in range(8)
    ]
    research = [
        Call(
            "research",
            "analyst",
            "openai",
            "gpt-5.4",
            300_000,
            2_000,
            session="rs-1",
            note="long context: over 272k input tokens, priced at the long-context rates",
        )
    ]
    streams = [backend, reviewer, clarifier, pipeline, runaway, research]
    out: list[Call] = []
    while any(streams):
        pick = rnd.choice([s for s in streams if s])
        out.append(pick.pop(0))
    return out


@dataclass
class _Clients:
    openai: Any
    anthropic: Any


def _clients(warden: Warden, fake: FakeProvider) -> _Clients:
    import anthropic
    import openai

    cloud = openai.OpenAI(**fake.client_kwargs("openai"))
    local = openai.OpenAI(base_url=fake.openai_base_url, api_key="ollama", max_retries=0)
    return _Clients(
        openai=warden.wrap(cloud, fallbacks=[("ollama", "llama3.1")], clients={"ollama": local}),
        anthropic=warden.wrap(anthropic.Anthropic(**fake.client_kwargs("anthropic"))),
    )


def _send(clients: _Clients, call: Call) -> Any:
    words = max(1, int(call.input_tokens / 1.5))
    # a long context goes as several messages of at most 100k words (the tokenizer takes < 1M characters)
    messages = [
        {"role": "user", "content": _WORD * min(100_000, words - start)} for start in range(0, words, 100_000)
    ]
    if call.api == "openai":
        return clients.openai.chat.completions.create(
            model=call.model, messages=messages, max_completion_tokens=call.output_tokens + 500
        )
    return clients.anthropic.messages.create(
        model=call.model, max_tokens=call.output_tokens + 500, messages=messages
    )


def run_fleet(
    warden: Warden, fake: FakeProvider, calls: list[Call], say: Callable[[str], None]
) -> FleetResult:
    """Send every call; refusals, terminations and errors are part of the show and are counted."""
    import anthropic
    import openai

    clients = _clients(warden, fake)
    result = FleetResult()
    terminated_runs: set[str] = set()
    for call in calls:
        if call.run is not None and call.run in terminated_runs:
            continue
        result.calls += 1
        who = f"{call.project}/{call.agent}"
        fake.reset()  # one queued reply per call; a refused call leaves none behind
        fake.enqueue(
            Reply(
                input_tokens=call.input_tokens,
                cache_read_tokens=call.cache_read_tokens,
                output_tokens=call.output_tokens,
                error=call.error,
            )
        )
        try:
            with warden.run(project=call.project, agent=call.agent, session=call.session, run=call.run):
                _send(clients, call)
        except RunTerminated as exc:
            result.terminated += 1
            terminated_runs.add(str(call.run))
            say(f"TERMINATED  {who:28} {exc}")
            continue
        except BudgetExceeded as exc:
            result.blocked += 1
            say(f"BLOCKED     {who:28} {exc}")
            continue
        except (openai.APIStatusError, anthropic.APIStatusError) as exc:
            result.failed += 1
            result.recorded += 1
            status = f"HTTP {exc.status_code} from the provider"
            say(f"FAILED      {who:28} {call.model}: {status} (recorded as an error)")
            continue
        result.recorded += 1
        request = fake.requests[-1]
        sent_model = str(request.body.get("model"))
        event = next(iter(warden.ledger.events(limit=1, newest_first=True)), None)
        cost = f"${event.cost_total:.4f}" if event is not None else "?"
        tokens = f"{call.input_tokens + call.cache_read_tokens + call.output_tokens:>7,} tokens"
        if sent_model != call.model:
            result.fallbacks += 1
            say(f"FALLBACK    {who:28} {call.model} -> ollama/{sent_model} {tokens}  {cost}")
            continue
        label = f" ({call.note})" if call.note else ""
        say(f"ok          {who:28} {call.model:18} {tokens}  {cost}{label}")
    return result
