"""Pure logic: usage events, money, pricing, tiers, policies, periods, admission. Imports no adapter, SQL or
HTTP."""

__all__: list[str] = []
