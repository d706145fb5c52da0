"""Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256>` of `id.timestamp.body`, keyed
by the secret's bytes (`whsec_` + base64). A receiver checks it with any Standard Webhooks library."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from costwarden.core.channels import decode_webhook_secret

__all__ = ["new_secret", "sign", "signed_headers"]


def new_secret() -> str:
    """A fresh signing secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def sign(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` value (`v1,<base64>`) of one message."""
    key = decode_webhook_secret(secret)
    content = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(secret: str, message_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers for one message."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }
