"""What a channel sends for one alert: the alert's JSON (the same as the feed's, `costwarden alerts --json`),
the Standard Webhooks payload around it, a one-line text for chat, and an email's subject and body."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from costwarden.core.units import unit_of
from costwarden.storage.budgets import AlertRecord

__all__ = ["alert_json", "Message", "compose", "CHANNEL_KINDS"]

CHANNEL_KINDS: tuple[str, ...] = ("channel_failing", "channel_recovered")
"""Alerts a channel raises about itself (not about a budget)."""
_MARK = {
    "info": "\N{INFORMATION SOURCE}\ufe0f",
    "warning": "\N{WARNING SIGN}\ufe0f",
    "critical": "\N{POLICE CARS REVOLVING LIGHT}",
}


def _when(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at is not None else None


def alert_json(alert: AlertRecord) -> dict[str, Any]:
    """One alert as JSON (the feed's item; the `data` of a webhook)."""
    return {
        "id": alert.id,
        "at": _when(alert.at),
        "kind": alert.kind,
        "level": alert.level,
        "budget_id": alert.budget_id,
        "scope": alert.scope,
        "period": alert.period_key,
        "unit": alert.details.get("unit") or unit_of(alert.dimension).value,
        "threshold": alert.threshold,
        "resets_at": _when(alert.resets_at),
        "message": alert.message,
        "details": dict(alert.details),
        "acknowledged": None
        if alert.acknowledged is None
        else {
            "at": _when(alert.acknowledged.at),
            "by": alert.acknowledged.by,
            "note": alert.acknowledged.note,
        },
    }


@dataclass(frozen=True, slots=True)
class Message:
    """One alert as each channel type sends it."""

    message_id: str
    alert: AlertRecord
    suppressed: int
    """Alerts the channel's rate limit held back since the last one it sent (said in the text)."""

    @property
    def payload(self) -> dict[str, Any]:
        """The webhook body: Standard Webhooks' `type`, `timestamp` and `data` (the alert, plus
        `suppressed`)."""
        return {
            "type": f"costwarden.alert.{self.alert.kind}",
            "timestamp": _when(self.alert.at),
            "data": {**alert_json(self.alert), "suppressed": self.suppressed},
        }

    def body(self) -> str:
        """The webhook body as sent (and signed): compact JSON, keys in a stable order."""
        return json.dumps(self.payload, separators=(",", ":"), sort_keys=True, default=str)

    @property
    def held_back(self) -> str:
        if not self.suppressed:
            return ""
        plural = "s" if self.suppressed != 1 else ""
        return (
            f" ({self.suppressed} earlier alert{plural} held back by this channel's rate limit: "
            "see `costwarden alerts`)"
        )

    @property
    def text(self) -> str:
        """One line for chat (Slack): level, kind and the alert's message."""
        alert = self.alert
        mark = _MARK.get(alert.level, "")
        return f"{mark} costwarden {alert.level} ({alert.kind}): {alert.message}{self.held_back}".strip()

    @property
    def subject(self) -> str:
        alert = self.alert
        first = alert.message.splitlines()[0] if alert.message else alert.kind
        if len(first) > 150:
            first = first[:149] + "…"
        return f"[costwarden {alert.level}] {first}"

    def email_body(self) -> str:
        alert = self.alert
        lines = [alert.message + self.held_back, ""]
        facts = [
            ("kind", alert.kind),
            ("level", alert.level),
            ("budget", alert.budget_id),
            ("scope", alert.scope),
            ("period", alert.period_key),
            ("threshold", f"{alert.threshold}%" if alert.threshold else None),
            ("at", _when(alert.at)),
            ("resets at", _when(alert.resets_at)),
            ("alert id", str(alert.id) if alert.id is not None else None),
            ("message id", self.message_id),
        ]
        lines += [f"{name}: {value}" for name, value in facts if value]
        details = {k: v for k, v in alert.details.items() if k != "unit"}
        if details:
            lines += ["", *(f"{k}: {v}" for k, v in sorted(details.items()))]
        lines += ["", "The alert feed: costwarden alerts", ""]
        return "\n".join(lines)


def compose(message_id: str, alert: AlertRecord, suppressed: int = 0) -> Message:
    return Message(message_id=message_id, alert=alert, suppressed=suppressed)
