"""Webhooks end to end: a Warden's alerts reach a local receiver signed per Standard Webhooks (checked with
the `standardwebhooks` library), exactly once per alert through a receiver outage and a restart of the
deliverer, and a channel that keeps failing says so over the others."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import standardwebhooks
from notify_helpers import MovingClock, WardenFactory, spend

from costwarden.notify import deliverer_for, start_delivery
from costwarden.notify.deliverer import Deliverer
from costwarden.testing.webhooks import WebhookReceiver
from costwarden.views.alerts import AlertsQuery, alerts_view
from costwarden.views.deliveries import DeliveriesQuery, deliveries_view


def webhook(url: str, secret: str, **more: Any) -> dict[str, Any]:
    return {"type": "webhook", "url": url, "secret": secret, "level": "info", **more}


def deliverer(warden: Any, clock: MovingClock | None = None) -> Deliverer:
    d = deliverer_for(warden)
    if clock is not None:
        d.clock = clock
    return d


def test_alerts_arrive_signed_per_standard_webhooks(
    make_warden: WardenFactory, hook: WebhookReceiver, secret: str
) -> None:
    warden = make_warden(channels=[webhook(hook.url, secret)])
    spend(warden, 10)  # $1.00 of $1: 50 %, 80 % and 95 % crossed
    report = deliverer(warden).deliver_due()
    assert (report.delivered, report.retrying) == (3, 0)
    received = hook.unique
    assert len(received) == len(hook.requests) == 3
    verifier = standardwebhooks.Webhook(secret)
    payloads = [verifier.verify(item.body, item.headers) for item in received]
    assert [p["type"] for p in payloads] == ["costwarden.alert.threshold"] * 3
    assert [p["data"]["threshold"] for p in payloads] == ["50", "80", "95"]
    assert payloads[1]["data"]["message"] == (
        "Budget 'monthly' (global, month) reached 80% of its $1.00 limit: $0.80 spent"
    )
    assert payloads[0]["data"]["level"] == "info" and payloads[2]["data"]["level"] == "critical"
    # the webhook-id is the outbox's message id, and the same alert as the feed's
    outbox = deliveries_view(warden, DeliveriesQuery()).to_json()["deliveries"]
    assert sorted(d["message_id"] for d in outbox) == sorted(item.id for item in received)
    feed = alerts_view(warden, AlertsQuery()).to_json()
    assert sorted(a["id"] for a in feed) == sorted(p["data"]["id"] for p in payloads)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        verifier.verify(received[0].body.replace(b"monthly", b"weekly"), received[0].headers)
    assert deliverer(warden).deliver_due().attempts == 0


def test_a_channel_takes_only_its_level_budgets_and_kinds(
    make_warden: WardenFactory, hook: WebhookReceiver, secret: str
) -> None:
    with WebhookReceiver(secret=secret) as other, WebhookReceiver(secret=secret) as third:
        warden = make_warden(
            budgets=[
                {"id": "monthly", "period": "month", "cost_usd": 1},
                {"id": "daily", "period": "day", "cost_usd": 10},
            ],
            channels=[
                {"type": "webhook", "name": "warn", "url": hook.url, "secret": secret},
                webhook(other.url, secret, name="daily-only", budgets=["daily"]),
                webhook(third.url, secret, name="blocks", kinds=["block"]),
            ],
        )
        spend(warden, 10)
        deliverer(warden).deliver_due()
        assert [a["data"]["threshold"] for a in hook.alerts] == ["80", "95"]
        assert other.requests == [] and third.requests == []


def test_receiver_down_then_up_every_alert_arrives_once_also_after_a_restart(
    make_warden: WardenFactory, hook: WebhookReceiver, secret: str
) -> None:
    clock = MovingClock()
    channels = [webhook(hook.url, secret)]
    first = make_warden(channels=channels)
    hook.down()
    spend(first, 10)
    report = deliverer(first, clock).deliver_due()
    assert (report.delivered, report.retrying) == (0, 3)
    assert {outcome for _, _, outcome in report.outcomes} == {"refused"}
    clock.advance(1)
    assert deliverer(first, clock).deliver_due().attempts == 0  # backoff: not due yet
    clock.advance(5)
    hook.up()
    hook.answer(503)
    report = deliverer(first, clock).deliver_due()
    assert (report.delivered, report.retrying) == (0, 3)
    assert len(hook.requests) == 3 and hook.unique == []
    first.close()

    # a new process: the outbox is all it knows
    second = make_warden(channels=channels)
    hook.answer(200)
    clock.advance(9)
    assert deliverer(second, clock).deliver_due().attempts == 0  # 10 s after the 2nd failure
    clock.advance(2)
    report = deliverer(second, clock).deliver_due()
    assert (report.delivered, report.retrying) == (3, 0)
    assert [a["data"]["threshold"] for a in hook.alerts] == ["50", "80", "95"]
    accepted = [r for r in hook.requests if r.status == 200]
    assert len(accepted) == 3 and len({r.id for r in accepted}) == 3
    assert all(r.verified for r in hook.requests)
    log = deliveries_view(second, DeliveriesQuery(attempts=True)).to_json()["deliveries"]
    assert [[a["outcome"] for a in d["attempt_log"]] for d in log] == [
        ["refused", "http 503", "http 200"]
    ] * 3
    assert all(d["status"] == "delivered" and d["attempts"] == 3 for d in log)
    clock.advance(3600)
    assert deliverer(second, clock).deliver_due().attempts == 0


def test_two_processes_noticing_the_same_crossing_send_it_once(
    make_warden: WardenFactory, hook: WebhookReceiver, secret: str
) -> None:
    wardens = [make_warden(channels=[webhook(hook.url, secret)]) for _ in range(2)]
    barrier = threading.Barrier(4)

    def work(index: int) -> None:
        barrier.wait()
        spend(wardens[index % 2], 5)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for warden in wardens:
        deliverer(warden).deliver_due()
    assert sorted(a["data"]["threshold"] for a in hook.alerts) == ["50", "80", "95"]
    assert len(hook.requests) == 3


def test_a_failing_channel_raises_its_own_alert_once_over_the_others(
    make_warden: WardenFactory, hook: WebhookReceiver, secret: str
) -> None:
    clock = MovingClock()
    with WebhookReceiver(secret=secret) as ops:
        ops.down()
        warden = make_warden(
            channels=[webhook(ops.url, secret, name="ops"), webhook(hook.url, secret, name="team")],
            delivery={"failing_after": 3},
        )
        spend(warden, 10)
        deliverer(warden, clock).deliver_due()
        assert [a["type"] for a in hook.alerts] == ["costwarden.alert.threshold"] * 3 + [
            "costwarden.alert.channel_failing"
        ]
        failing = hook.alerts[3]["data"]
        assert failing["level"] == "critical" and failing["details"]["channel"] == "ops"
        assert "Alert channel 'ops' (webhook) is failing: 3 attempts in a row" in failing["message"]
        for _ in range(3):
            clock.advance(3600)
            deliverer(warden, clock).deliver_due()
        kinds = [a.kind for a in alerts_view(warden, AlertsQuery()).alerts]
        assert kinds.count("channel_failing") == 1
        assert len(hook.unique) == 4
        ops.up()
        clock.advance(3600)
        report = deliverer(warden, clock).deliver_due()
        assert report.delivered == 4  # three thresholds to ops, the recovery to team
        assert [a["type"] for a in ops.alerts] == ["costwarden.alert.threshold"] * 3
        assert hook.alerts[-1]["type"] == "costwarden.alert.channel_recovered"
        assert hook.alerts[-1]["data"]["message"] == "Alert channel 'ops' (webhook) delivers again."


def test_the_rate_limit_holds_alerts_back_and_the_next_one_counts_them(
    make_warden: WardenFactory, hook: WebhookReceiver, secret: str
) -> None:
    clock = MovingClock()
    warden = make_warden(
        budgets=[{"id": "monthly", "period": "month", "cost_usd": 1, "thresholds": [10, 20, 30, 40]}],
        channels=[webhook(hook.url, secret, rate_limit="1/1h")],
    )
    spend(warden, 3)
    report = deliverer(warden, clock).deliver_due()
    assert (report.delivered, report.suppressed) == (1, 2)
    clock.advance(3601)
    spend(warden, 1)
    deliverer(warden, clock).deliver_due()
    assert [(a["data"]["threshold"], a["data"]["suppressed"]) for a in hook.alerts] == [("10", 0), ("40", 2)]
    held = deliveries_view(warden, DeliveriesQuery(status="suppressed")).deliveries
    assert sorted(d.alert.threshold or "" for d in held) == ["20", "30"]


def test_an_alert_not_delivered_within_the_window_is_marked_failed(
    make_warden: WardenFactory, hook: WebhookReceiver, secret: str
) -> None:
    clock = MovingClock()
    hook.down()
    warden = make_warden(channels=[webhook(hook.url, secret)], delivery={"give_up_after": "1m"})
    spend(warden, 5)  # one alert: 50 %
    assert deliverer(warden, clock).deliver_due().retrying == 1
    clock.advance(70)
    assert deliverer(warden, clock).deliver_due().failed == 1
    (row,) = deliveries_view(warden, DeliveriesQuery(attempts=True)).to_json()["deliveries"]
    assert row["status"] == "failed" and len(row["attempt_log"]) == 2
    clock.advance(3600)
    assert deliverer(warden, clock).deliver_due().attempts == 0


def test_inline_delivery_sends_at_once_and_the_warden_waits_for_it_on_close(
    make_warden: WardenFactory, hook: WebhookReceiver, secret: str
) -> None:
    warden = make_warden(channels=[webhook(hook.url, secret)], delivery={"inline": True})
    spend(warden, 5)
    warden.close()
    assert [a["data"]["threshold"] for a in hook.alerts] == ["50"]


def test_the_worker_delivers_alerts_of_this_and_other_processes(
    make_warden: WardenFactory, hook: WebhookReceiver, secret: str
) -> None:
    channels = [webhook(hook.url, secret)]
    server = make_warden(channels=channels, delivery={"inline": True})
    worker = start_delivery(server, poll=0.1)
    try:
        spend(server, 5)  # raised here: the worker is woken
        hook.wait_for(1, timeout=60)
        other = make_warden(channels=channels)  # another process, without inline delivery
        spend(other, 4)
        hook.wait_for(2, timeout=60)
    finally:
        worker.stop()
    assert not worker.running
    assert [a["data"]["threshold"] for a in hook.alerts] == ["50", "80"]


def test_slack_channels_get_text(make_warden: WardenFactory) -> None:
    with WebhookReceiver() as slack:
        warden = make_warden(channels=[{"type": "slack", "url": slack.url, "level": "info"}])
        spend(warden, 5)
        deliverer(warden).deliver_due()
        (request,) = slack.requests
        assert "webhook-signature" not in request.headers
        assert request.json() == {
            "text": "\u2139\ufe0f costwarden info (threshold): Budget 'monthly' (global, month) reached "
            "50% of its $1.00 limit: $0.50 spent"
        }
