"""The cost of the alert outbox, against the same work without it, in the same run.

    python bench/bench_alerts.py [--alerts 500] [--rounds 3]

On a SQLite ledger in a temporary directory, for `--alerts` exhaustion alerts (`block`, recorded every
time):

- raising: `AlertHub.emit` with no channel (the feed only: the baseline) and with two webhook channels
  (the feed and two outbox rows in the same transaction);
- delivering: the `Deliverer` sending every pending row to a local receiver (lease, POST, attempt log,
  state), against plain signed POSTs of the same bodies to the same receiver (the baseline).

Prints the median time per alert of each and the ratio to its baseline.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from costwarden import Warden
from costwarden.budgets import BudgetEngine
from costwarden.config import settings_from_mapping
from costwarden.notify import compose, deliverer_for, new_secret
from costwarden.notify.http import post_json
from costwarden.notify.sender import Scrubber
from costwarden.notify.signing import signed_headers
from costwarden.storage.budgets import AlertRecord
from costwarden.testing.webhooks import WebhookReceiver

__all__ = ["main"]


def _alert(n: int) -> AlertRecord:
    return AlertRecord(
        kind="block",
        at=datetime.now(UTC),
        budget_id="monthly",
        scope="global",
        period_key="2026-12",
        dimension="cost",
        level="critical",
        message=f"Budget 'monthly' exhausted: call {n} refused",
    )


def _warden(folder: Path, name: str, channels: list[dict[str, object]]) -> Warden:
    settings = settings_from_mapping(
        {
            "database": f"sqlite:///{folder / name}.db",
            "budgets": [{"id": "monthly", "period": "month", "cost_usd": 1}],
            "alerts": {"channels": channels, "delivery": {"inline": False}},
        }
    )
    return Warden(settings)


def _hub(warden: Warden) -> BudgetEngine:
    engine = warden.budgets
    assert isinstance(engine, BudgetEngine)
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--alerts", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    secret = new_secret()
    raise_plain: list[float] = []
    raise_outbox: list[float] = []
    send_plain: list[float] = []
    send_outbox: list[float] = []
    with WebhookReceiver(secret=secret) as hook, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        channels: list[dict[str, object]] = [
            {"type": "webhook", "name": f"hook{i}", "url": hook.url, "secret": secret, "level": "info"}
            for i in range(2)
        ]
        for round_ in range(args.rounds):
            with _warden(folder, f"plain{round_}", []) as plain:
                hub = _hub(plain).hub
                started = time.perf_counter()
                for n in range(args.alerts):
                    hub.emit(_alert(n))
                raise_plain.append((time.perf_counter() - started) / args.alerts)
            with _warden(folder, f"outbox{round_}", channels) as boxed:
                hub = _hub(boxed).hub
                started = time.perf_counter()
                for n in range(args.alerts):
                    hub.emit(_alert(n))
                raise_outbox.append((time.perf_counter() - started) / args.alerts)
                rows = 2 * args.alerts
                started = time.perf_counter()
                report = deliverer_for(boxed).deliver_due(limit=rows)
                send_outbox.append((time.perf_counter() - started) / rows)
                assert report.delivered == rows, report
                scrub = Scrubber([secret])
                started = time.perf_counter()
                for n in range(rows):
                    message = compose(f"msg_plain_{round_}_{n}", _alert(n))
                    body = message.body()
                    headers = signed_headers(secret, message.message_id, int(time.time()), body)
                    assert post_json(hook.url, body, headers, 10.0, scrub).ok
                send_plain.append((time.perf_counter() - started) / rows)
        assert all(r.verified for r in hook.requests)

    def show(name: str, values: list[float], base: list[float]) -> None:
        mid, ref = statistics.median(values), statistics.median(base)
        print(f"{name:<44} {mid * 1e3:8.3f} ms/alert   x{mid / ref:5.2f}")

    print(f"{args.alerts} alerts, {args.rounds} rounds, SQLite, medians")
    show("raise: feed only (baseline)", raise_plain, raise_plain)
    show("raise: feed + 2 outbox rows", raise_outbox, raise_plain)
    show("send: plain signed POST (baseline)", send_plain, send_plain)
    show("send: outbox delivery (lease, POST, log)", send_outbox, send_plain)


if __name__ == "__main__":
    main()
