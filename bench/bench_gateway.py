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
gateway runs under cProfile and its top functions are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
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
        [sys.executable, "-m", "costwarden.testing"], stdout=subprocess.PIPE, text=True, env=_env()
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
def gateway(config: Path, port: int, workers: int, profile: str | None = None) -> Iterator[tuple[str, int]]:
    if profile:
        command = [sys.executable, __file__, "--serve-profiled", str(config), str(port), profile]
    else:
        command = [sys.executable, "-m", "costwarden", "--config", str(config), "gateway"]
        command += ["--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=_env())
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


async def latency(direct: str, via: str, requests: int, stream: bool) -> tuple[list[float], list[float]]:
    body = STREAM_BODY if stream else BODY
    out: tuple[list[float], list[float]] = ([], [])
    connector = aiohttp.TCPConnector(limit=2)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(50):  # warm both paths and their connections
            await _one(session, direct, body, stream)
            await _one(session, via, body, stream)
        for index in range(requests):
            first, second = (direct, via) if index % 2 else (via, direct)
            a = await _one(session, first, body, stream)
            b = await _one(session, second, body, stream)
            (out[0] if first == direct else out[1]).append(a)
            (out[1] if first == direct else out[0]).append(b)
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


def report_latency(label: str, direct: list[float], via: list[float]) -> None:
    d50, d99 = percentiles(direct)
    v50, v99 = percentiles(via)
    print(f"{label}")
    print(f"  direct   p50 {d50:6.3f} ms   p99 {d99:6.3f} ms")
    print(f"  gateway  p50 {v50:6.3f} ms   p99 {v99:6.3f} ms")
    print(
        f"  added    p50 {v50 - d50:6.3f} ms   p99 {v99 - d99:6.3f} ms   (goal <= 1 ms / <= 3 ms; "
        f"gateway/direct {v50 / d50:.2f}x at p50)"
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, fake_upstream() as upstream:
        folder = Path(tmp)
        database = "memory://" if args.db == "memory" else f"sqlite:///{folder / 'bench.db'}"
        config = write_config(folder, upstream, database)
        print(f"fake upstream {upstream}; storage {args.db}; one budget on every call")
        with gateway(config, free_port(), 1, args.profile) as (url, pid):
            direct, via = asyncio.run(latency(upstream, url, args.requests, stream=False))
            report_latency(f"plain chat completion, {args.requests} sequential requests each", direct, via)
            direct, via = asyncio.run(latency(upstream, url, args.requests // 2, stream=True))
            report_latency(f"stream, time to first byte, {args.requests // 2} requests each", direct, via)
            base = asyncio.run(throughput(upstream, args.seconds, args.concurrency))
            cpu0 = cpu_seconds(pid)
            served = asyncio.run(throughput(url, args.seconds, args.concurrency))
            cpu = cpu_seconds(pid) - cpu0
        print(f"throughput at concurrency {args.concurrency}, {args.seconds:.0f} s each")
        print(f"  direct               {base / args.seconds:8.0f} req/s")
        rate1 = served / args.seconds
        per_request = cpu / served * 1e3
        print(
            f"  gateway, 1 worker    {rate1:8.0f} req/s   ({rate1 / (base / args.seconds):.2f}x direct; "
            f"gateway CPU {per_request:.3f} ms per request = {1000 / per_request:.0f} req/s per busy core; "
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
