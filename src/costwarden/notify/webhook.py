"""The webhook channel: each alert POSTed as JSON, signed per Standard Webhooks. The `webhook-id` is the
outbox row's message id, the same on every retry, so a receiver that remembers the ids it has seen gets
each alert exactly once; `webhook-timestamp` is when this attempt was sent (the wall clock, as receivers
compare it with theirs)."""

from __future__ import annotations

from costwarden.clock import SYSTEM_CLOCK, Clock
from costwarden.core.channels import WebhookChannelConfig, resolve_secret
from costwarden.core.redact import mask_url
from costwarden.notify.http import post_json
from costwarden.notify.message import Message
from costwarden.notify.sender import Outcome, Scrubber
from costwarden.notify.signing import signed_headers

__all__ = ["WebhookSender"]


class WebhookSender:
    def __init__(self, config: WebhookChannelConfig, wall: Clock = SYSTEM_CLOCK) -> None:
        self.config = config
        self.wall = wall

    def target(self) -> str:
        """Where it posts, safe to show (user info and secret-looking query values masked)."""
        return mask_url(self.config.url)

    def send(self, message: Message) -> Outcome:
        config = self.config
        try:
            secret = resolve_secret(config.secret, config.secret_env, "webhook signing secret")
        except ValueError as exc:
            return Outcome(False, "config", str(exc))
        scrub = Scrubber([secret, config.url])
        body = message.body()
        headers = signed_headers(secret, message.message_id, int(self.wall()), body)
        return post_json(config.url, body, headers, config.timeout, scrub)
