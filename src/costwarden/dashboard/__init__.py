"""The dashboard `costwarden serve` shows at `/`: one page over the same views as the API and the CLI
(today, this week and this month against budgets; cost over time; breakdowns with drill-down; budgets and
quotas; alerts; insights; sessions), drawn on the server as HTML and SVG, updated without a reload."""

from costwarden.dashboard.routes import dashboard_router

__all__ = ["dashboard_router"]
