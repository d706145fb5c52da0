"""Wrapper overhead: the same calls through the bare SDK and through `warden.wrap(...)`, against the same
local fake provider, measured in the same run.

    python bench/bench_wrapper.py [--calls 400] [--ledger sqlite|memory|both]

The fake provider runs in its own process (so its threads do not compete with the client for the GIL).
For each case (OpenAI chat plain and streamed, Anthropic messages plain) the bare and the wrapped client
alternate call by call, so both see the same server and machine state; the figure is the median per call.
The wrapped client estimates the input tokens, admits the call, reads the rate-limit headers, prices the
usage and appends the event (to a SQLite file in a temporary folder, or to memory).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import openai

from costwarden.storage.memory.ledger import MemoryLedger
from costwarden.storage.sql.ledger import open_ledger
from costwarden.warden import Warden

__all__ = ["main"]

MESSAGES = [
    {"role": "system", "content": "You are a terse assistant that answers in one sentence."},
    {"role": "user", "content": "Summarise the plot of Hamlet in one sentence, please."},
]


def _cases(oa: Any, an: Any) -> dict[str, Callable[[], object]]:
    def chat() -> object:
        return oa.chat.completions.create(model="gpt-5", messages=MESSAGES, max_completion_tokens=200)

    def chat_stream() -> object:
        for _ in oa.chat.completions.create(model="gpt-5", messages=MESSAGES, stream=True):
            pass
        return None

    def messages() -> object:
        return an.messages.create(model="claude-haiku-4-5", max_tokens=200, messages=MESSAGES[1:])

    return {"openai chat": chat, "openai chat stream": chat_stream, "anthropic messages": messages}


def _time(fn: Callable[[], object], calls: int) -> list[float]:
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _run(warden: Warden, base_url: str, calls: int, label: str) -> None:
    with (
        openai.OpenAI(base_url=f"{base_url}/v1", api_key="k", max_retries=0) as oa,
        anthropic.Anthropic(base_url=base_url, api_key="k", max_retries=0) as an,
    ):
        bare = _cases(oa, an)
        wrapped = _cases(warden.wrap(oa), warden.wrap(an))
        for name in bare:
            for _ in range(20):  # warm up: connections, tokenizer, price book
                bare[name]()
                wrapped[name]()
            bare_times: list[float] = []
            wrapped_times: list[float] = []
            for _ in range(calls):  # alternate call by call: both see the same conditions
                bare_times += _time(bare[name], 1)
                wrapped_times += _time(wrapped[name], 1)
            b, w = statistics.median(bare_times), statistics.median(wrapped_times)
            print(
                f"{label:7} {name:20} bare {b * 1e3:7.3f} ms  wrapped {w * 1e3:7.3f} ms  "
                f"overhead {(w - b) * 1e6:8.1f} us/call  ratio {w / b:5.2f}x"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--ledger", choices=("sqlite", "memory", "both"), default="both")
    args = parser.parse_args(argv)
    server = subprocess.Popen([sys.executable, "-m", "costwarden.testing"], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        if args.ledger in ("memory", "both"):
            with Warden(ledger=MemoryLedger()) as warden:
                _run(warden, base_url, args.calls, "memory")
        if args.ledger in ("sqlite", "both"):
            with tempfile.TemporaryDirectory() as tmp:
                ledger = open_ledger(f"sqlite:///{Path(tmp) / 'bench.db'}")
                with Warden(ledger=ledger) as warden:
                    _run(warden, base_url, args.calls, "sqlite")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
