"""The Slack channel: each alert POSTed as `{"text": ...}` to an incoming webhook (Slack's format, which
Mattermost, Rocket.Chat, Discord's `/slack` endpoint and others accept too). The URL is the secret: it is
never shown whole, logged or put in an outcome."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from costwarden.core.channels import SlackChannelConfig, resolve_secret
from costwarden.notify.http import post_json
from costwarden.notify.message import Message
from costwarden.notify.sender import Outcome, Scrubber

__all__ = ["SlackSender", "masked_hook"]


def masked_hook(url: str) -> str:
    """`https://hooks.slack.com/…`: scheme and host only."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}/…" if parts.hostname else "…"


class SlackSender:
    def __init__(self, config: SlackChannelConfig) -> None:
        self.config = config

    def target(self) -> str:
        config = self.config
        if config.url is not None:
            return masked_hook(config.url.get_secret_value())
        return f"${config.url_env}"

    def send(self, message: Message) -> Outcome:
        config = self.config
        try:
            url = resolve_secret(config.url, config.url_env, "Slack webhook URL")
        except ValueError as exc:
            return Outcome(False, "config", str(exc))
        scrub = Scrubber([url, urlsplit(url).path])
        body = json.dumps({"text": message.text}, ensure_ascii=False)
        return post_json(url, body, {}, config.timeout, scrub)
