"""Reports over the ledger: periods in the configured timezone, exact totals from the events and their
rollups, the report model and its formats, forecasts, insights, retention. See docs/reports.md."""

from costwarden.reports.aggregate import Aggregator
from costwarden.reports.forecast import Outlook, Projection, project
from costwarden.reports.model import BudgetLine, Report, build_report
from costwarden.reports.periods import Period, between, last_days, named_period
from costwarden.storage.rollups import Coverage, NotResolvable

__all__ = [
    "Aggregator",
    "BudgetLine",
    "Coverage",
    "NotResolvable",
    "Outlook",
    "Period",
    "Projection",
    "Report",
    "between",
    "build_report",
    "last_days",
    "named_period",
    "project",
]
