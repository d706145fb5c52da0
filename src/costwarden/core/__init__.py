"""Pure value types and logic: usage events, money, config field types, provider names, policies, periods,
admission, routing. Imports no adapter, SQL or HTTP, and nothing of pricing (`costwarden.pricing`)."""

__all__: list[str] = []
