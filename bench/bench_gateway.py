"""The gateway's added latency and throughput, against direct calls to the same fake upstream in the same run.

    python bench/bench_gateway.py [--requests 2000] [--seconds 6] [--concurrency 32] [--db memory|sqlite]
                                  [--profile gateway.prof]

Three processes: the fake provider (`python -m costwarden.testing`), `costwarden gateway` (one worker,
then two) with one budget that applies to every call (admission and settlement do their real work on the
chosen storage), and this load generator (aiohttp, keep-alive connections). Measured:

- added latency of plain chat completions (sequential requests, direct and through the gateway
  interleaved): p50 and p99 of each and their difference; the same for time to first byte of streams;
- requests per second at `--concurrency` for `--seconds`, direct and through 1 and 2 workers, and the CPU
  time the gateway's processes spent per request (from /proc: what a worker can serve per core, whatever
  else shares the machine).

Goals: <= 1 ms p50 and <= 3 ms p99 added, >= 1,300 req/s per worker. With `--profile FILE` the one-worker
gateway runs under cProfile and its top functions are printed. With `--baseline-src DIR` (the `src` folder
of another checkout, e.g. the main branch's) a second one-worker gateway runs that code beside this one, its
requests interleaved with the others', for before/after figures measured in the same run. `--parts`
measures in this process what the per-call steps cost on their own (CPU time): admission, settlement,
reading the rate-limit headers, the input estimate, parsing the body.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp

BODY = json.dumps(
    {
        "model": "gpt-5-mini",
        "messages": [{"role": "user", "content": "Say hello in five words."}],
        "max_completion_tokens": 64,
    }
).encode()
STREAM_BODY = json.dumps({**json.loads(BODY), "stream": True}).encode()
HEADERS = {"content-type": "application/json", "authorization": "Bearer bench"}
LIMITS = ("--rate-limit-requests", str(10**12), "--rate-limit-tokens", str(10**15))


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return p50 * 1e3, p99 * 1e3


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its children (recursively), in seconds."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                stack.extend(int(c) for c in children)
        except (OSError, IndexError, ValueError):
            continue
    return total


@contextmanager
def fake_upstream() -> Iterator[str]:
    proc = subprocess.Popen(
        # limits its rate-limit headers never run out of (the gateway feeds them to the quotas)
        [sys.executable, "-m", "costwarden.testing", *LIMITS],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COSTWARDEN_")}
    env["BENCH_UPSTREAM_KEY"] = "sk-bench"
    return env


def write_config(folder: Path, upstream: str, database: str) -> Path:
    config = folder / "costwarden.yaml"
    config.write_text(
        json.dumps(
            {
                "database": database,
                "budgets": [{"id": "bench", "period": "month", "cost_usd": "1000000"}],
                "gateway": {
                    "upstreams": [
                        {
                            "name": "openai",
                            "api": "openai",
                            "base_url": f"{upstream}/v1",
                            "api_key_env": "BENCH_UPSTREAM_KEY",
                        }
                    ]
                },
            }
        )
    )
    return config


def serve_profiled(config: str, port: int, out: str) -> None:
    """One gateway worker under cProfile (CPU time), profiling its requests only (from the first one to
    shutdown)."""
    import cProfile

    import uvicorn

    from costwarden.gateway.server import listening_socket, uvicorn_options, worker_app

    os.environ["COSTWARDEN_CONFIG"] = config
    app = worker_app()
    # process CPU time, not wall time: on a busy machine a write that wakes the peer often costs the writer
    # its turn on the CPU, which a wall-clock profile would charge to the write
    profiler = cProfile.Profile(time.process_time)
    running = [False]

    async def profiled(scope: dict[str, object], receive: object, send: object) -> None:
        if scope["type"] == "http" and not running[0]:
            running[0] = True
            profiler.enable()
        await app(scope, receive, send)  # type: ignore[arg-type]

    sock = listening_socket("127.0.0.1", port)
    try:
        uvicorn.run(profiled, fd=sock.fileno(), **uvicorn_options())
    finally:
        profiler.disable()
        profiler.dump_stats(out)
        sock.close()


@contextmanager
def gateway(
    config: Path, port: int, workers: int, profile: str | None = None, source: str | None = None
) -> Iterator[tuple[str, int]]:
    env = _env()
    if source is not None:  # another checkout's code
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
    if profile:
        command = [sys.executable, __file__, "--serve-profiled", str(config), str(port), profile]
    else:
        command = [sys.executable, "-m", "costwarden", "--config", str(config), "gateway"]
        command += ["--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(_wait_healthy(url))
        yield url, proc.pid
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


async def _wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"{url}/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start")
            await asyncio.sleep(0.1)


async def _one(session: aiohttp.ClientSession, url: str, body: bytes, stream: bool) -> float:
    """Seconds to the whole answer (plain) or to its first byte (stream)."""
    started = time.perf_counter()
    async with session.post(f"{url}/v1/chat/completions", data=body, headers=HEADERS) as response:
        if stream:
            await response.content.readany()
            first = time.perf_counter() - started
            await response.read()
            return first
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
        return time.perf_counter() - started


async def latency(urls: list[str], requests: int, stream: bool) -> list[list[float]]:
    """Seconds per request of each of `urls`, their requests interleaved (the order rotating)."""
    body = STREAM_BODY if stream else BODY
    out: list[list[float]] = [[] for _ in urls]
    connector = aiohttp.TCPConnector(limit=len(urls))
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(50):  # warm every path and its connections
            for url in urls:
                await _one(session, url, body, stream)
        for index in range(requests):
            for step in range(len(urls)):
                which = (index + step) % len(urls)
                out[which].append(await _one(session, urls[which], body, stream))
    return out


async def throughput(url: str, seconds: float, concurrency: int) -> int:
    done = 0
    stop = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < stop:
                await _one(session, url, BODY, False)
                done += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def report_latency(label: str, direct: list[float], via: list[float], baseline: list[float] | None) -> None:
    d50, d99 = percentiles(direct)
    print(f"{label}")
    print(f"  direct             p50 {d50:6.3f} ms   p99 {d99:6.3f} ms")
    rows = [("gateway", via)] + ([("baseline gateway", baseline)] if baseline is not None else [])
    for name, samples in rows:
        v50, v99 = percentiles(samples)
        print(
            f"  {name:18s} p50 {v50:6.3f} ms   p99 {v99:6.3f} ms   added p50 {v50 - d50:6.3f} ms   "
            f"p99 {v99 - d99:6.3f} ms   ({v50 / d50:.2f}x direct at p50; goal <= 1 ms / <= 3 ms added)"
        )


AREAS = (
    ("/uvicorn/", "uvicorn (HTTP server)"),
    ("/aiohttp/", "aiohttp (upstream client)"),
    ("/yarl/", "aiohttp (upstream client)"),
    ("/multidict/", "aiohttp (upstream client)"),
    ("costwarden/gateway/", "gateway (routing, SSE, replies)"),
    ("costwarden/budgets/", "admission + settlement (budgets, storage, warden)"),
    ("costwarden/storage/", "admission + settlement (budgets, storage, warden)"),
    ("costwarden/warden", "admission + settlement (budgets, storage, warden)"),
    ("costwarden/core/", "admission + settlement (budgets, storage, warden)"),
    ("costwarden/pricing/", "pricing"),
    ("genai_prices", "pricing"),
    ("costwarden/quotas", "rate-limit headers (quotas)"),
    ("costwarden/estimate", "input estimate"),
    ("costwarden/integrations/", "usage reading (integrations)"),
    ("json/", "json"),
    ("asyncio/", "asyncio"),
)


def profile_areas(path: str) -> None:
    """Own time of the profiled requests, grouped by where it is spent."""
    stats = pstats.Stats(path)
    totals: dict[str, float] = {}
    for (filename, _, name), entry in stats.stats.items():  # type: ignore[attr-defined]
        own = entry[2]
        label = next((label for key, label in AREAS if key in filename), None)
        if label is None:
            builtin = filename == "~"
            label = "json" if "json" in name else "builtins and C calls" if builtin else "other Python"
        totals[label] = totals.get(label, 0.0) + own
    whole = sum(totals.values()) or 1.0
    for label, own in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"  {label:50s} {100 * own / whole:5.1f}%")


def parts(db: str, count: int = 1000) -> None:
    """CPU time per call of the steps the gateway runs around its HTTP work, each measured alone."""
    from multidict import CIMultiDict

    from costwarden.config import settings_from_mapping
    from costwarden.core.calls import CallRequest
    from costwarden.core.usage import Attribution, Usage
    from costwarden.warden import Warden

    headers = CIMultiDict(
        {
            "x-request-id": "req_1",
            "x-ratelimit-limit-requests": "10000",
            "x-ratelimit-remaining-requests": "9999",
            "x-ratelimit-reset-requests": "6ms",
            "x-ratelimit-limit-tokens": "2000000",
            "x-ratelimit-remaining-tokens": "1999000",
            "x-ratelimit-reset-tokens": "1m30s",
            "content-type": "application/json",
        }
    )
    payload = json.loads(BODY)

    def request() -> CallRequest:
        return CallRequest(
            provider="openai", model="gpt-5-mini", attribution=Attribution(), input_tokens=20, max_tokens=64
        )

    def timed(label: str, step: Callable[[], object]) -> None:
        step()
        started = time.process_time()
        for _ in range(count):
            step()
        print(f"  {label:52s} {(time.process_time() - started) / count * 1e6:8.1f} us")

    with tempfile.TemporaryDirectory() as tmp:
        database = "memory://" if db == "memory" else f"sqlite:///{Path(tmp) / 'parts.db'}"
        budgets = [{"id": "bench", "period": "month", "cost_usd": "1000000"}]
        settings = settings_from_mapping({"database": database, "budgets": budgets})
        with Warden(settings) as warden:
            print(f"CPU time per call of each step alone, storage {db}, {count} calls each:")
            timed("body JSON parse", lambda: json.loads(BODY))
            timed("input estimate", lambda: warden.estimator.estimate("gpt-5-mini", payload))
            timed("rate-limit headers read into the quotas", lambda: warden.quotas.observe("openai", headers))
            admitted = [warden.admit(request()) for _ in range(count + 1)]
            timed(
                "admission (worst case reserved on the budget)",
                lambda: admitted.append(warden.admit(request())),
            )
            pending = iter(admitted)
            timed(
                "settlement (event appended, reservation replaced)",
                lambda: warden.settle(next(pending), Usage(input_tokens=20, output_tokens=9)),
            )


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--serve-profiled":
        serve_profiled(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--db", choices=("memory", "sqlite"), default="sqlite")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--baseline-src", default=None, help="another checkout's src, run beside this one")
    parser.add_argument("--parts", action="store_true", help="the per-call steps' CPU time, each alone")
    args = parser.parse_args()
    if args.parts:
        parts(args.db)
        return
    with tempfile.TemporaryDirectory() as tmp, fake_upstream() as upstream:
        folder = Path(tmp)
        database = "memory://" if args.db == "memory" else f"sqlite:///{folder / 'bench.db'}"
        config = write_config(folder, upstream, database)
        print(f"fake upstream {upstream}; storage {args.db}; one budget on every call")
        with contextlib.ExitStack() as stack:
            url, pid = stack.enter_context(gateway(config, free_port(), 1, args.profile))
            urls = [upstream, url]
            if args.baseline_src:
                (folder / "baseline").mkdir()
                base_db = "memory://" if args.db == "memory" else f"sqlite:///{folder / 'baseline.db'}"
                base_config = write_config(folder / "baseline", upstream, base_db)
                base_url, base_pid = stack.enter_context(
                    gateway(base_config, free_port(), 1, source=args.baseline_src)
                )
                urls.append(base_url)
            plain = asyncio.run(latency(urls, args.requests, stream=False))
            label = f"plain chat completion, {args.requests} requests each, interleaved"
            report_latency(label, plain[0], plain[1], plain[2] if args.baseline_src else None)
            streams = asyncio.run(latency(urls, args.requests // 2, stream=True))
            label = f"stream, time to first byte, {args.requests // 2} requests each, interleaved"
            report_latency(label, streams[0], streams[1], streams[2] if args.baseline_src else None)
            base = asyncio.run(throughput(upstream, args.seconds, args.concurrency))
            print(f"throughput at concurrency {args.concurrency}, {args.seconds:.0f} s each")
            print(f"  direct               {base / args.seconds:8.0f} req/s")
            measured = [("gateway, 1 worker", url, pid)]
            if args.baseline_src:
                measured.append(("baseline, 1 worker", base_url, base_pid))
            rate1 = 0.0
            for name, where, process in measured:
                cpu0 = cpu_seconds(process)
                served = asyncio.run(throughput(where, args.seconds, args.concurrency))
                cpu = cpu_seconds(process) - cpu0
                rate = served / args.seconds
                rate1 = rate1 or rate
                per_request = cpu / served * 1e3
                print(
                    f"  {name:20s} {rate:8.0f} req/s   ({rate / (base / args.seconds):.2f}x direct; gateway "
                    f"CPU {per_request:.3f} ms per request = {1000 / per_request:.0f} req/s per busy core; "
                    "goal >= 1,300)"
                )
        if not args.profile:
            with gateway(config, free_port(), 2) as (url2, pid2):
                cpu0 = cpu_seconds(pid2)
                served2 = asyncio.run(throughput(url2, args.seconds, args.concurrency))
                cpu2 = cpu_seconds(pid2) - cpu0
            rate2 = served2 / args.seconds
            print(
                f"  gateway, 2 workers   {rate2:8.0f} req/s   ({rate2 / rate1:.2f}x one worker; gateway CPU "
                f"{cpu2 / served2 * 1e3:.3f} ms per request; 2 cores shared with the upstream and the client)"
            )
    if args.profile:
        print(f"\nwhere the gateway's CPU time goes while serving (cProfile, {args.profile}):")
        profile_areas(args.profile)
        print("\ntop 20 functions by own time:")
        pstats.Stats(args.profile).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
