"""The email channel: each alert as a plain-text email over SMTP (STARTTLS by default, implicit TLS, or
none for a relay on localhost), with login when a username is set. The password never leaves: not in an
outcome, a log or an error."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from costwarden.core.channels import EmailChannelConfig, SmtpConfig, resolve_secret
from costwarden.notify.message import Message
from costwarden.notify.sender import Outcome, Scrubber, describe_error

__all__ = ["EmailSender", "build_email"]


def build_email(message: Message, sender: str, to: list[str]) -> EmailMessage:
    """The email of one alert; `Message-ID` carries the outbox message id (the same on every retry)."""
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    mail["Date"] = format_datetime(message.alert.at)
    domain = sender.rsplit("@", 1)[-1].rstrip(">").strip() or "costwarden.local"
    mail["Message-ID"] = make_msgid(idstring=message.message_id, domain=domain)
    mail["X-Costwarden-Message-Id"] = message.message_id
    mail["X-Costwarden-Alert-Kind"] = message.alert.kind
    mail["X-Costwarden-Alert-Level"] = message.alert.level
    mail.set_content(message.email_body())
    return mail


class EmailSender:
    def __init__(
        self, config: EmailChannelConfig, smtp: SmtpConfig, tls: ssl.SSLContext | None = None
    ) -> None:
        self.config = config
        self.smtp = smtp
        self.tls = tls
        """The TLS context (default: the system's, verifying the server's certificate)."""

    def target(self) -> str:
        return f"{', '.join(self.config.to)} via {self.smtp.host}:{self.smtp.resolved_port}"

    def _context(self) -> ssl.SSLContext:
        if self.tls is not None:
            return self.tls
        return ssl.create_default_context(cafile=self.smtp.ca_file)

    def send(self, message: Message) -> Outcome:
        smtp = self.smtp
        password: str | None = None
        if smtp.username is not None and (smtp.password is not None or smtp.password_env is not None):
            try:
                password = resolve_secret(smtp.password, smtp.password_env, "SMTP password")
            except ValueError as exc:
                return Outcome(False, "config", str(exc))
        scrub = Scrubber([password])
        mail = build_email(message, smtp.sender, self.config.to)
        timeout = min(smtp.timeout, self.config.timeout)
        try:
            client: smtplib.SMTP
            if smtp.security == "tls":
                client = smtplib.SMTP_SSL(
                    smtp.host, smtp.resolved_port, timeout=timeout, context=self._context()
                )
            else:
                client = smtplib.SMTP(smtp.host, smtp.resolved_port, timeout=timeout)
            with client:
                if smtp.security == "starttls":
                    client.starttls(context=self._context())
                if smtp.username is not None and password is not None:
                    client.login(smtp.username, password)
                refused = client.send_message(mail)
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else ""
            return Outcome(False, f"smtp {exc.smtp_code}", scrub(text or type(exc).__name__))
        except smtplib.SMTPRecipientsRefused as exc:
            return Outcome(False, "smtp refused", scrub(f"recipients refused: {', '.join(exc.recipients)}"))
        except smtplib.SMTPException as exc:
            return Outcome(False, "smtp", scrub(f"{type(exc).__name__}: {exc}"))
        except (OSError, ValueError) as exc:
            outcome, detail = describe_error(exc)
            return Outcome(False, outcome, scrub(detail))
        if refused:  # some accepted it: sending again would repeat it to them
            return Outcome(True, "smtp 250", scrub(f"sent; recipients refused: {', '.join(refused)}"))
        return Outcome(True, "smtp 250", f"sent to {len(self.config.to)} recipient(s)")
