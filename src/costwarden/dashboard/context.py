"""What every panel is drawn from: the Warden, the caller, the period and filters of the page (parsed as
the API parses them), and the page's own choices (the stacked field, the table shown)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from costwarden.access import Role
from costwarden.reports.periods import Period
from costwarden.server.auth import Caller
from costwarden.server.params import ReadQuery
from costwarden.storage.ledger import WhereValue
from costwarden.views.periods import PeriodFlags
from costwarden.warden import Warden

__all__ = ["PageQuery", "DEFAULT_PERIOD", "API_PARAMS", "TABLES"]

DEFAULT_PERIOD = "last-30-days"
API_PARAMS: tuple[str, ...] = (
    "period",
    "start",
    "end",
    "project",
    "agent",
    "model",
    "provider",
    "task",
    "run",
    "session",
    "user",
    "tag",
    "where",
)
"""The page's query parameters that are the API's (passed on as they are to the CSV links)."""
TABLES: dict[str, str] = {
    "projects": "Projects",
    "agents": "Agents",
    "models": "Models",
    "providers": "Providers",
    "users": "Users",
    "sessions": "Sessions",
    "runs": "Runs",
    "tags": "Tags",
}


@dataclass(frozen=True, slots=True)
class PageQuery:
    """One request of a panel."""

    warden: Warden
    caller: Caller
    read: ReadQuery
    api_params: Sequence[tuple[str, str]]
    """The API's parameters of the page (with the default period made explicit)."""
    stack: str = "project"
    table: str = "projects"

    @property
    def admin(self) -> bool:
        """Whether the caller may acknowledge alerts and dismiss insights (an unrestricted admin key, or
        a loopback server without keys)."""
        key = self.caller.key
        return key is None or (key.grants(Role.ADMIN) and not self.caller.restricted)

    @property
    def tz(self) -> ZoneInfo:
        return self.warden.settings.tz

    @property
    def now(self) -> datetime:
        return self.warden.clock.now()

    @property
    def where(self) -> dict[str, WhereValue]:
        """The filters, narrowed to the caller's projects."""
        return self.caller.restrict(self.read.where)

    @property
    def period_flags(self) -> PeriodFlags:
        return self.read.period

    def period(self) -> Period:
        return self.read.period.resolve(self.tz, default=DEFAULT_PERIOD, at=self.now)

    def api(self, path: str, *extra: tuple[str, str]) -> str:
        """The API URL of `path` with the page's parameters and `extra`."""
        from costwarden.dashboard.html import query_string

        return f"/api/v1{path}{query_string([*self.api_params, *extra])}"
