"""Pricing: what a call cost and which cost tier a model is in. One concept per module:

- `book`: `PriceBook`, which prices usage events from the catalog, overrides, custom and local models;
- `catalog`: the `Catalog` protocol and its genai-prices adapter (the only module importing genai-prices);
- `rates`: resolved `ModelRates` and the exact integer arithmetic of a `RateCard`;
- `epochs`: the spans a model's rates stay the same in, and the rate cards kept per span;
- `price_sets`: configured rates and long-context tiers; `overrides`: rates replacing the catalog's;
- `config`: the `pricing:` section; `tiers`: cost tiers (`tiers:` section, `TierBook`).

Nothing is imported here: import each name from its module (`from costwarden.pricing.book import
PriceBook`), so loading one part does not load the others.
"""
