"""`costwarden alert ...`: channels saved in the database reach a real receiver; secrets are shown once at
most and never echoed after; bad input is exit 2 naming the flag."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks

from costwarden.cli import main
from costwarden.notify import new_secret
from costwarden.testing.webhooks import WebhookReceiver

SLACK_PATH = "/services/T0001/B0002/abcdefSECRETtoken"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def spend(capsys: pytest.CaptureFixture[str], db: str, calls: int) -> None:
    for _ in range(calls):
        code, _, err = run(
            capsys,
            "--db",
            db,
            "record",
            "--provider",
            "openai",
            "--model",
            "gpt-4o",
            "--input-tokens",
            "40000",
        )
        assert code == 0, err


def test_seed_flow_webhook_set_spend_deliver(capsys: pytest.CaptureFixture[str], db: str) -> None:
    with WebhookReceiver() as hook:
        code, out, _ = run(capsys, "--db", db, "alert", "set", "--webhook", hook.url, "--level", "info")
        assert code == 0
        lines = out.splitlines()
        assert lines[0] == f"Set webhook channel 'webhook': {hook.url}."
        secret = lines[-1]
        assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
        assert run(capsys, "--db", db, "budget", "set", "--monthly", "1")[0] == 0
        spend(capsys, db, 5)  # the CLI sends at once (inline) and waits for it before exiting
        (request,) = hook.requests
        payload = standardwebhooks.Webhook(secret).verify(request.body, request.headers)
        assert payload["data"]["message"] == (
            "Budget 'monthly' (global, month) reached 50% of its $1.00 limit: $0.50 spent"
        )
        code, out, _ = run(capsys, "--db", db, "alert", "deliveries", "--json", "--attempts")
        (row,) = json.loads(out)["deliveries"]
        assert row["message_id"] == request.id and row["status"] == "delivered"
        assert [a["outcome"] for a in row["attempt_log"]] == ["http 200"]
        code, out, _ = run(capsys, "--db", db, "alert", "test", "webhook")
        assert code == 0 and out.startswith("Sent a test alert over 'webhook': http 200")
        assert hook.requests[-1].json()["type"] == "costwarden.alert.test"
        # the secret was shown once: never again
        for args in (("alert", "channels"), ("alert", "channels", "--json"), ("alert", "deliveries")):
            code, out, err = run(capsys, "--db", db, *args)
            assert code == 0 and secret not in out + err


def test_outage_then_deliver_retries(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, tmp_path: Path
) -> None:
    db = sqlite_url
    secret = new_secret()
    with WebhookReceiver(secret=secret) as hook:
        config = tmp_path / "costwarden.yaml"
        config.write_text(
            "budgets: [{id: monthly, period: month, cost_usd: 1}]\n"
            "alerts:\n  delivery: {initial_backoff: 0.05s}\n",
            encoding="utf-8",
        )
        base = ("--db", db, "--config", str(config))
        code, _, _ = run(
            capsys, *base, "alert", "set", "--webhook", hook.url, "--secret", secret, "--name", "ops"
        )
        assert code == 0
        hook.down()
        spend_args = ("record", "--provider", "openai", "--model", "gpt-4o", "--input-tokens", "40000")
        for _ in range(8):
            assert run(capsys, *base, *spend_args)[0] == 0
        code, out, _ = run(capsys, *base, "alert", "deliveries", "--json")
        rows = json.loads(out)["deliveries"]
        assert [(r["status"], r["attempts"], r["last_error"]) for r in rows] == [
            ("pending", 1, "connection refused")
        ]
        code, out, _ = run(capsys, *base, "alert", "deliver")
        assert code == 1 and "1 to retry" in out
        hook.up()
        import time

        time.sleep(0.2)
        code, out, _ = run(capsys, *base, "alert", "deliver")
        assert (code, out) == (0, "1 delivered, 0 to retry, 0 failed, 0 held back by rate limits.\n")
        assert [r.verified for r in hook.requests] == [True] and len(hook.unique) == 1
        code, out, _ = run(capsys, *base, "alert", "channels")
        assert "ops" in out and "1 delivered" in out


def test_slack_urls_and_passwords_are_never_echoed(
    capsys: pytest.CaptureFixture[str],
    db: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"http://127.0.0.1:9{SLACK_PATH}"
    code, out, err = run(capsys, "--db", db, "alert", "set", "--slack", url, "--level", "info")
    assert code == 0 and SLACK_PATH not in out + err and "http://127.0.0.1/…" in out
    monkeypatch.setenv("SMTP_PASSWORD", "hunter2-very-secret")
    code, out, err = run(
        capsys, "--db", db, "alert", "set", "--email", "ops@example.com", "--smtp-host", "127.0.0.1",
        "--smtp-port", "9", "--smtp-user", "ops", "--smtp-password-env", "SMTP_PASSWORD", "--from",
        "costwarden@example.com", "--level", "info",
    )  # fmt: skip
    assert code == 0, err
    assert run(capsys, "--db", db, "budget", "set", "--monthly", "1")[0] == 0
    spend(capsys, db, 5)  # tried at once, refused
    outputs = [run(capsys, "--db", db, "alert", "test", name) for name in ("slack", "email")]
    assert [code for code, _, _ in outputs] == [1, 1]
    for args in (("alert", "channels", "--json"), ("alert", "deliveries", "--json", "--attempts")):
        code, out, err = run(capsys, "--db", db, *args)
        outputs.append((code, out, err))
    shown = "".join(out + err for _, out, err in outputs) + caplog.text
    assert "refused" in shown
    for secret in (SLACK_PATH, "abcdefSECRETtoken", "hunter2-very-secret"):
        assert secret not in shown


@pytest.mark.parametrize(
    ("args", "flag", "message"),
    [
        ((), "--webhook", "give one of --webhook URL, --slack URL, --email ADDR, --threshold PERCENT"),
        (("--webhook", "ftp://x"), "--webhook", "url: expected an http:// or https:// URL"),
        (
            ("--webhook", "http://x", "--secret", "whsec_abc"),
            "--webhook",
            "secret: a webhook secret is whsec_",
        ),
        (("--webhook", "http://x", "--level", "loud"), "--level", "expected one of info, warning, critical"),
        (("--webhook", "http://x", "--rate-limit", "lots"), "--webhook", "expected a rate such as 10/1h"),
        (("--email", "ops@example.com"), "--smtp-host", "no SMTP server"),
        (
            ("--email", "not-an-address", "--smtp-host", "h", "--from", "a@b.co"),
            "--email",
            "expected an email",
        ),
        (("--webhook", "http://x", "--name", "bad name"), "--webhook", "name: expected a name"),
    ],
)
def test_bad_channels_are_refused_naming_the_flag(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, args: tuple[str, ...], flag: str, message: str
) -> None:
    assert run(capsys, "--db", sqlite_url, "db", "upgrade")[0] == 0
    code, out, err = run(capsys, "--db", sqlite_url, "alert", "set", *args)
    assert code == 2, out + err
    assert flag in err and message in " ".join(err.split())
    code, out, _ = run(capsys, "--db", sqlite_url, "alert", "channels", "--json")
    assert [c["name"] for c in json.loads(out)["channels"]] == ["log"]


def test_reading_commands_never_create_a_database(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    for command in ("channels", "deliveries", "thresholds"):
        code, _, err = run(capsys, "--db", url, "alert", command)
        assert code == 2 and "no database at" in err
    assert not (tmp_path / "none.db").exists()


def test_a_slack_url_given_as_webhook_becomes_a_slack_channel(
    capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    code, out, err = run(
        capsys, "--db", sqlite_url, "alert", "set", "--webhook", f"https://hooks.slack.com{SLACK_PATH}"
    )
    assert code == 0 and "Set slack channel 'slack': https://hooks.slack.com/…." in out
    assert "Slack channel" in err and SLACK_PATH not in out + err
    channels: list[dict[str, Any]] = json.loads(
        run(capsys, "--db", sqlite_url, "alert", "channels", "--json")[1]
    )["channels"]
    assert [(c["name"], c["type"], c["origin"]) for c in channels] == [
        ("log", "log", "config"),
        ("slack", "slack", "cli"),
    ]


def test_remove_test_and_unknown_names(capsys: pytest.CaptureFixture[str], sqlite_url: str) -> None:
    base = ("--db", sqlite_url, "alert")
    code, _, err = run(capsys, *base, "test", "nope")
    assert code == 2 and "no channel 'nope'" in err
    assert run(capsys, *base, "set", "--webhook", "http://127.0.0.1:9/x", "--name", "ops")[0] == 0
    code, _, err = run(capsys, *base, "test", "ops")
    assert code == 1 and "Test alert over 'ops' failed: refused" in err
    code, out, _ = run(capsys, *base, "remove", "ops")
    assert (code, out) == (0, "Removed channel 'ops'.\n")
    code, _, err = run(capsys, *base, "remove", "ops")
    assert code == 2 and "no channel 'ops' was saved" in err
    code, _, err = run(capsys, *base, "deliveries", "--status", "lost")
    assert code == 2 and "--status" in err and "unknown status 'lost'" in err
    code, out, _ = run(capsys, *base, "deliveries")
    assert (code, out) == (0, "No deliveries.\n")


def test_thresholds_and_amounts_set_from_the_cli(capsys: pytest.CaptureFixture[str], db: str) -> None:
    base = ("--db", db)
    assert run(capsys, *base, "budget", "set", "--monthly", "1")[0] == 0
    assert run(capsys, *base, "budget", "set", "--daily", "10", "--project", "web")[0] == 0
    code, out, _ = run(capsys, *base, "alert", "set", "--threshold", "30%")
    assert (code, out) == (0, "Alert at 30% of every budget.\nApplies to: monthly, project-web-daily.\n")
    code, out, _ = run(capsys, *base, "alert", "set", "--amount", "$0.20", "--level", "critical")
    assert (code, out) == (0, "Alert at $0.20 of every budget.\nApplies to: monthly, project-web-daily.\n")
    code, out, _ = run(capsys, *base, "alert", "set", "--amount", "5", "--budget", "project-web-daily")
    assert (code, out) == (0, "Alert at $5.00 of budget 'project-web-daily'.\n")
    spend(capsys, db, 4)  # $0.40 of monthly: 20 % ($0.20, critical) and 30 %
    code, out, _ = run(capsys, *base, "alerts", "--json")
    feed = json.loads(out)
    assert sorted((a["threshold"], a["level"]) for a in feed) == [("20", "critical"), ("30", "info")]
    code, out, _ = run(capsys, *base, "alert", "thresholds", "--json")
    rows = json.loads(out)["thresholds"]
    assert [(r["label"], r["budget"], r["applies_to"]) for r in rows] == [
        ("30%", None, ["monthly", "project-web-daily"]),
        ("$0.20", None, ["monthly", "project-web-daily"]),
        ("$5.00", "project-web-daily", ["project-web-daily"]),
    ]
    code, out, _ = run(capsys, *base, "alert", "remove", "--threshold", "30")
    assert (code, out) == (0, "Removed the alert at 30%.\n")
    code, out, _ = run(capsys, *base, "alert", "thresholds")
    assert out.splitlines() == [
        "$0.20 of every budget, level critical: applies to monthly, project-web-daily.",
        "$5.00 of budget 'project-web-daily': applies to project-web-daily.",
    ]


@pytest.mark.parametrize(
    ("args", "flag", "message"),
    [
        (("--threshold", "0.8"), "--threshold", "thresholds are percentages"),
        (("--threshold", "150"), "--threshold", "less than or equal to 100"),
        (("--amount", "-3"), "--amount", "expected"),
        (("--amount", "2", "--budget", "monthly"), "--amount", "has a cost limit of $1.00"),
        (("--threshold", "50", "--budget", "nope"), "--budget", "no budget 'nope'"),
        (("--threshold", "50", "--webhook", "http://x"), "--webhook", "give one of"),
    ],
)
def test_bad_thresholds_are_refused(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, args: tuple[str, ...], flag: str, message: str
) -> None:
    assert run(capsys, "--db", sqlite_url, "budget", "set", "--monthly", "1")[0] == 0
    code, _, err = run(capsys, "--db", sqlite_url, "alert", "set", *args)
    assert code == 2 and flag in err and message in " ".join(err.split()), err
    assert run(capsys, "--db", sqlite_url, "alert", "remove", "--threshold", "50")[0] == 2


def test_ack_records_who_and_when_and_the_feed_shows_it(capsys: pytest.CaptureFixture[str], db: str) -> None:
    assert run(capsys, "--db", db, "budget", "set", "--monthly", "1")[0] == 0
    spend(capsys, db, 5)
    code, out, _ = run(capsys, "--db", db, "alerts", "--json")
    assert code == 0
    feed = json.loads(out)
    assert feed and all(a["acknowledged"] is None for a in feed)
    first = feed[-1]["id"]
    code, out, err = run(capsys, "--db", db, "alert", "ack", str(first), "--by", "dana", "--note", "on it")
    assert code == 0, err
    assert out.startswith(f"Alert {first} acknowledged by dana at ")
    code, out, _ = run(capsys, "--db", db, "alert", "ack", str(first), "--by", "eve", "--json")
    assert code == 0
    kept = json.loads(out)["acknowledged"]
    assert (kept["by"], kept["note"]) == ("dana", "on it")  # the first acknowledgement stays
    code, out, _ = run(capsys, "--db", db, "alerts", "--acknowledged", "--json")
    assert [a["id"] for a in json.loads(out)] == [first]
    code, out, _ = run(capsys, "--db", db, "alerts", "--unacknowledged", "--json")
    assert first not in [a["id"] for a in json.loads(out)] and len(json.loads(out)) == len(feed) - 1
    code, out, _ = run(capsys, "--db", db, "alerts")
    assert "dana" in out
    code, _, err = run(capsys, "--db", db, "alert", "ack", "987654")
    assert code == 2 and "no alert 987654" in err and "ALERT_ID" in err
    code, _, err = run(capsys, "--db", db, "alert", "ack", str(first), "--by", " ")
    assert code == 2 and "--by" in err
