"""What every channel type implements: `send(message) -> Outcome`, never raising for a failed delivery, and
never letting a secret (a signing key, a password, a URL that is itself the secret) into an outcome."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from costwarden.core.redact import MASK
from costwarden.notify.message import Message

__all__ = ["Outcome", "Sender", "Scrubber", "describe_error"]

_DETAIL_MAX = 500


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt went: `outcome` is short (`http 200`, `http 503`, `timeout`, `refused`, `smtp 535`,
    `config`), `detail` says more (the receiver's answer, cut to 500 characters)."""

    ok: bool
    outcome: str
    detail: str | None = None


class Sender(Protocol):
    """Sends one message over one channel."""

    def send(self, message: Message) -> Outcome: ...


class Scrubber:
    """Replaces every given secret in a text by `***` (for outcomes, logs and errors)."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str | None) -> str | None:
        if text is None:
            return None
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text[:_DETAIL_MAX]


def describe_error(exc: BaseException) -> tuple[str, str]:
    """A short outcome and a detail for an error of the network or TLS (never naming the URL)."""
    reason = getattr(exc, "reason", None)
    inner = reason if isinstance(reason, BaseException) else exc
    if isinstance(inner, TimeoutError | socket.timeout):
        return "timeout", "no answer within the channel's timeout"
    if isinstance(inner, ConnectionRefusedError):
        return "refused", "connection refused"
    if isinstance(inner, ssl.SSLError | ssl.CertificateError):
        return "tls", f"TLS error: {type(inner).__name__}: {inner}"
    if isinstance(inner, socket.gaierror):
        return "dns", f"host name not resolved: {inner.strerror or inner}"
    if isinstance(inner, OSError):
        return "network", f"{type(inner).__name__}: {inner.strerror or inner}"
    return "error", f"{type(inner).__name__}: {inner}"
