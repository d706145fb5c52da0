"""Email alerts to a local SMTP server (aiosmtpd) speaking STARTTLS with a certificate of a local CA and
requiring login: the message arrives as written, a wrong password is a failed attempt that never shows
the password."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from notify_helpers import WardenFactory, spend

from costwarden.notify import deliverer_for
from costwarden.views.deliveries import DeliveriesQuery, deliveries_view

PASSWORD = "s3cret-smtp-pass"


@dataclass
class Inbox:
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword) and data.login == b"alerts" and data.password == PASSWORD.encode()
        )
        if ok:
            self.logins.append(mechanism)
        return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    port: int
    ca_file: Path
    inbox: Inbox


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[SmtpServer]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    inbox = Inbox()
    with socket.socket() as probe:  # a free port (the controller checks it is up by connecting)
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=inbox.authenticate,
        auth_required=True,
        auth_require_tls=True,
        # aiosmtpd waits on smtplib's one-line AUTH LOGIN (which smtplib tries after a failed PLAIN)
        auth_exclude_mechanism=["LOGIN"],
    )
    controller.start()
    try:
        yield SmtpServer(port, ca_file, inbox)
    finally:
        controller.stop()


def email_channel(server: SmtpServer, **smtp: Any) -> dict[str, Any]:
    return {
        "type": "email",
        "to": ["oncall@example.com", "finance@example.com"],
        "level": "info",
        "smtp": {
            "host": "127.0.0.1",
            "port": server.port,
            "username": "alerts",
            "password_env": "COSTWARDEN_TEST_SMTP_PASSWORD",
            "from": "costwarden <alerts@example.com>",
            "ca_file": str(server.ca_file),
            **smtp,
        },
    }


def test_alerts_are_emailed_over_starttls_with_login(
    make_warden: WardenFactory, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COSTWARDEN_TEST_SMTP_PASSWORD", PASSWORD)
    warden = make_warden(channels=[email_channel(smtp_server)])
    spend(warden, 8)  # 50 % and 80 %
    report = deliverer_for(warden).deliver_due()
    assert (report.delivered, report.retrying) == (2, 0)
    assert len(smtp_server.inbox.logins) == 2  # one login per message
    sender, recipients, raw = smtp_server.inbox.messages[1]
    assert sender == "alerts@example.com"
    assert recipients == ["oncall@example.com", "finance@example.com"]
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail["Subject"] == (
        "[costwarden warning] Budget 'monthly' (global, month) reached 80% of its $1.00 limit: $0.80 spent"
    )
    assert mail["To"] == "oncall@example.com, finance@example.com"
    (row,) = deliveries_view(warden, DeliveriesQuery(limit=1)).deliveries
    assert mail["X-Costwarden-Message-Id"] == row.message_id
    assert row.message_id in mail["Message-ID"]
    body = mail.get_body(("plain",))
    assert body is not None
    text = body.get_content().replace("\r\n", "\n")
    assert text.startswith("Budget 'monthly' (global, month) reached 80% of its $1.00 limit: $0.80 spent\n")
    for line in ("kind: threshold", "level: warning", "budget: monthly", "threshold: 80%", "period: "):
        assert line in text


def test_a_wrong_password_fails_and_is_retried_without_showing_it(
    make_warden: WardenFactory, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    monkeypatch.setenv("COSTWARDEN_TEST_SMTP_PASSWORD", "wrong-" + PASSWORD)
    warden = make_warden(channels=[email_channel(smtp_server)])
    spend(warden, 5)
    report = deliverer_for(warden).deliver_due()
    assert report.retrying == 1 and smtp_server.inbox.messages == []
    (row,) = deliveries_view(warden, DeliveriesQuery(attempts=True)).to_json()["deliveries"]
    assert row["attempt_log"][0]["outcome"] == "smtp 535"
    shown = str(row) + caplog.text
    assert PASSWORD not in shown


def test_a_server_without_a_trusted_certificate_is_refused(
    make_warden: WardenFactory, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COSTWARDEN_TEST_SMTP_PASSWORD", PASSWORD)
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    warden = make_warden(channels=[email_channel(smtp_server, ca_file=str(other))])
    spend(warden, 5)
    report = deliverer_for(warden).deliver_due()
    assert report.retrying == 1 and smtp_server.inbox.messages == []
    assert report.outcomes[0][2] == "tls"
