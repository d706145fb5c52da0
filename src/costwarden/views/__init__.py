"""The read side: one module per question, each a pure function of a `Warden` (its ledger, settings,
clock, prices and budgets) and a typed query, returning a frozen result that owns its versioned JSON
schema (`to_json()`, the `SCHEMA` id included). The CLI parses options and renders these results; an API
or a dashboard calls the same functions.

- `report`: the summary report (`costwarden.report/2`); `session`: one session in detail
  (`costwarden.session/1`);
- `top`, `trends`, `analyze`: rankings, cost over time, usage patterns;
- `forecast`: month-end and budget projections (`costwarden.forecast/2`);
- `budget_status`, `live` (`costwarden.watch/2`), `insights`, `alerts`;
- `periods` and `filters` parse the period and `FIELD=VALUE` filters every question shares; a bad value is
  a `QueryError` naming the option it came from.
"""

from costwarden.views.errors import QueryError

__all__ = ["QueryError"]
