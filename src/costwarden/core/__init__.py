"""Pure logic: usage events, money, pricing, tiers. Imports no adapter, SQL or HTTP."""
