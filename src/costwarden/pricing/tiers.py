"""Cost tiers: named price bands that models fall into by a blended price per million tokens.

Tiers are referenced by string id everywhere (`low`, `medium`, `high`, `premium` are built in). A model's
*blended price* is `(3 * input + 1 * output) / 4` USD per million tokens of its base rates — an agent
typically reads about three tokens for every token it writes; the weights are configurable
(`tiers.blend`). A tier covers `[price_range_min, price_range_max)`; `price_range_max: null` is
open-ended. Ranges must not overlap; a price in a gap between tiers belongs to the tier below the gap
(or to the lowest tier when it is below all of them).

    tiers:
      blend: {input: 3, output: 1}
      remove: [premium]                 # drop built-ins
      definitions:
        - id: high                      # a built-in id: change only the fields given
          price_range_max: null
        - id: free                      # a new id: add a tier (price_range_min required)
          display_name: Free
          price_range_min: 0
          price_range_max: 0.01

Tiers set from the CLI (`costwarden tiers add/set/remove`, stored in the database) are laid over the
config's by `layer_tiers`: the config wins on an id it names.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import pydantic
from pydantic import Field, model_validator

from costwarden.core.config_fields import Money, StrictSection
from costwarden.pricing.rates import ModelRates

if TYPE_CHECKING:
    from costwarden.pricing.book import PriceBook

__all__ = [
    "BUILTIN_TIERS",
    "CostTierDefinition",
    "TierChange",
    "BlendWeights",
    "TiersConfig",
    "TierBook",
    "TierLayers",
    "CliChanges",
    "layer_tiers",
    "merge_tiers",
    "apply_change",
    "check_tiers",
    "classify",
]

TierId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
_Color = Annotated[str, Field(pattern=r"^(#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}|[a-z][a-z0-9_ ]*)$")]
_Text = Annotated[str, Field(max_length=500)]


def _usd(amount: Decimal) -> str:
    return f"${amount.normalize():f}"


class CostTierDefinition(StrictSection):
    """One tier: a band of blended prices (USD per million tokens), with how to show it."""

    id: TierId
    display_name: Annotated[str, Field(min_length=1, max_length=100)]
    description: _Text = ""
    price_range_min: Money = Decimal(0)
    price_range_max: Money | None = None
    """Exclusive upper bound; None: open-ended."""
    color: _Color = "#808080"
    """`#rgb`, `#rrggbb` or a color name (as rich understands it)."""
    icon: Annotated[str, Field(max_length=8)] = ""

    @model_validator(mode="after")
    def _ordered(self) -> CostTierDefinition:
        if self.price_range_max is not None and self.price_range_min > self.price_range_max:
            raise ValueError(
                f"tier {self.id!r}: price_range_min ({self.price_range_min}) is above "
                f"price_range_max ({self.price_range_max})"
            )
        return self

    def contains(self, price: Decimal) -> bool:
        """Whether a blended price falls in `[price_range_min, price_range_max)`."""
        return self.price_range_min <= price and (
            self.price_range_max is None or price < self.price_range_max
        )

    def describe_range(self) -> str:
        """`$1 to $5 per MTok`, `$15 and up per MTok`."""
        if self.price_range_max is None:
            return f"{_usd(self.price_range_min)} and up per MTok"
        return f"{_usd(self.price_range_min)} to {_usd(self.price_range_max)} per MTok"


BUILTIN_TIERS: tuple[CostTierDefinition, ...] = (
    CostTierDefinition(
        id="low",
        display_name="Low",
        description="Small and fast models; under $1 per million blended tokens.",
        price_range_min=Decimal(0),
        price_range_max=Decimal(1),
        color="#2e7d32",
        icon="$",
    ),
    CostTierDefinition(
        id="medium",
        display_name="Medium",
        description="Everyday workhorse models; $1 to $5 per million blended tokens.",
        price_range_min=Decimal(1),
        price_range_max=Decimal(5),
        color="#1565c0",
        icon="$$",
    ),
    CostTierDefinition(
        id="high",
        display_name="High",
        description="Frontier models; $5 to $15 per million blended tokens.",
        price_range_min=Decimal(5),
        price_range_max=Decimal(15),
        color="#ef6c00",
        icon="$$$",
    ),
    CostTierDefinition(
        id="premium",
        display_name="Premium",
        description="The most expensive models; $15 or more per million blended tokens.",
        price_range_min=Decimal(15),
        price_range_max=None,
        color="#c62828",
        icon="$$$$",
    ),
)


class TierChange(StrictSection):
    """An entry of `tiers.definitions`: changes the fields given of a built-in tier, or adds a tier."""

    id: TierId
    display_name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    description: _Text | None = None
    price_range_min: Money | None = None
    price_range_max: Money | None = None
    color: _Color | None = None
    icon: Annotated[str, Field(max_length=8)] | None = None


class BlendWeights(StrictSection):
    """Weights of the blended price: `(input * in_rate + output * out_rate) / (input + output)`."""

    input: int = Field(default=3, ge=0, le=1000)
    output: int = Field(default=1, ge=0, le=1000)

    @model_validator(mode="after")
    def _some(self) -> BlendWeights:
        if self.input + self.output == 0:
            raise ValueError("blend weights cannot both be 0")
        return self


class TiersConfig(StrictSection):
    """The `tiers:` section: remove built-ins, then change or add tiers; validated as a whole."""

    definitions: list[TierChange] = Field(default_factory=list)
    remove: list[TierId] = Field(default_factory=list)
    blend: BlendWeights = Field(default_factory=BlendWeights)

    @model_validator(mode="after")
    def _valid(self) -> TiersConfig:
        merge_tiers(self)
        return self


_INFINITY = Decimal("Infinity")


def _range(tier: CostTierDefinition) -> tuple[Decimal, Decimal]:
    top = tier.price_range_max
    return tier.price_range_min, _INFINITY if top is None else top


def _overlap(a: CostTierDefinition, b: CostTierDefinition) -> bool:
    (a_min, a_max), (b_min, b_max) = _range(a), _range(b)
    # half-open ranges; an empty range [x, x) overlaps nothing
    return a_min < a_max and b_min < b_max and a_min < b_max and b_min < a_max


def check_tiers(tiers: Iterable[CostTierDefinition]) -> tuple[CostTierDefinition, ...]:
    """The tiers sorted by range, after checking ids are unique and ranges do not overlap.

    Raises ValueError naming the tiers at fault.
    """
    ordered = sorted(tiers, key=_range)
    if not ordered:
        raise ValueError("no tiers left: keep or define at least one")
    seen: set[str] = set()
    for tier in ordered:
        if tier.id in seen:
            raise ValueError(f"tier {tier.id!r} is defined twice")
        seen.add(tier.id)
    for index, tier in enumerate(ordered):
        for other in ordered[index + 1 :]:
            if _overlap(tier, other):
                raise ValueError(
                    f"tiers {tier.id!r} ({tier.describe_range()}) and {other.id!r} "
                    f"({other.describe_range()}) overlap"
                )
    return tuple(ordered)


def _build(tier_id: str, values: dict[str, Any]) -> CostTierDefinition:
    try:
        return CostTierDefinition(id=tier_id, **values)
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ValueError(message if not where else f"tier {tier_id!r}: {where}: {message}") from None


def merge_tiers(config: TiersConfig | None = None) -> tuple[CostTierDefinition, ...]:
    """The effective tiers: built-ins minus `remove`, with `definitions` applied; checked and sorted."""
    if config is None:
        return BUILTIN_TIERS
    builtin = {tier.id: tier for tier in BUILTIN_TIERS}
    for tier_id in config.remove:
        if tier_id not in builtin:
            known = ", ".join(sorted(builtin))
            raise ValueError(f"cannot remove unknown tier {tier_id!r} (built-in tiers: {known})")
    tiers = {tier.id: tier for tier in BUILTIN_TIERS if tier.id not in config.remove}
    defined: set[str] = set()
    for change in config.definitions:
        if change.id in defined:
            raise ValueError(f"tier {change.id!r} is defined twice")
        defined.add(change.id)
        tiers[change.id] = apply_change(tiers.get(change.id), change)
    return check_tiers(tiers.values())


def apply_change(base: CostTierDefinition | None, change: TierChange) -> CostTierDefinition:
    """The tier `change` makes: `base` with the fields given changed, or a new tier when `base` is None
    (`price_range_min` required; `display_name` defaults to the id in title case). Raises ValueError."""
    given = {name: getattr(change, name) for name in change.model_fields_set if name != "id"}
    if base is None:
        if change.price_range_min is None:
            raise ValueError(f"new tier {change.id!r} needs price_range_min")
        given.setdefault("display_name", change.id.replace("_", " ").replace("-", " ").title())
        return _build(change.id, given)
    given = {name: value for name, value in given.items() if value is not None or name == "price_range_max"}
    return _build(change.id, {**base.model_dump(exclude={"id"}), **given})


def _blend(rates: ModelRates, weights: BlendWeights) -> Decimal:
    return rates.blended_price(weights.input, weights.output)


def _pick(tiers: tuple[CostTierDefinition, ...], price: Decimal) -> CostTierDefinition:
    below = tiers[0]
    for tier in tiers:
        if tier.contains(price):
            return tier
        if tier.price_range_min <= price:
            below = tier
    return below


def classify(
    rates: ModelRates | Decimal,
    tiers: tuple[CostTierDefinition, ...] = BUILTIN_TIERS,
    blend: BlendWeights | None = None,
) -> str:
    """The id of the tier of a model's rates (by blended price) or of a blended price itself."""
    price = rates if isinstance(rates, Decimal) else _blend(rates, blend or BlendWeights())
    return _pick(tiers, price).id


CliChanges = Mapping[str, Mapping[str, Any] | None]
"""Tiers set from the CLI by id: the fields given (a new tier, or a change of one), None for a removal."""


@dataclass(frozen=True, slots=True)
class TierLayers:
    """The effective tiers once the CLI's changes are laid over the config's (see `layer_tiers`)."""

    tiers: tuple[CostTierDefinition, ...]
    origins: Mapping[str, str]
    """Where each tier comes from: `builtin`, `config` or `cli`."""
    shadowed: tuple[str, ...] = ()
    """Ids set from the CLI that the config overrides (it names them), or removals of tiers it refers to."""
    skipped: tuple[tuple[str, str], ...] = ()
    """Ids set from the CLI left out because they no longer fit (their reason): ranges that overlap a
    tier the config changed since, a removal of a tier that is gone."""
    conflict: str | None = None
    """Why the tiers set from the CLI do not fit all together (None: they do)."""


def layer_tiers(config: TiersConfig | None, cli: CliChanges, keep: Collection[str] = ()) -> TierLayers:
    """The config's tiers (`merge_tiers`) with the tiers set from the CLI applied together.

    The config wins on an id it names (under `tiers.definitions` or `tiers.remove`); a CLI removal of a
    tier in `keep` (the tiers the config's providers name) is shadowed too. Every edit from the CLI was
    checked against the others when stored, so they apply together; a change that no longer fits (the
    config changed since) is skipped, the others still apply (taken one by one, in id order)."""
    config = config if config is not None else TiersConfig()
    named = set(config.remove) | {change.id for change in config.definitions}
    base = {tier.id: tier for tier in merge_tiers(config)}
    origins = {tier_id: ("config" if tier_id in named else "builtin") for tier_id in base}
    shadowed = tuple(
        tier_id for tier_id in sorted(cli) if tier_id in named or (cli[tier_id] is None and tier_id in keep)
    )
    applied = {tier_id: cli[tier_id] for tier_id in sorted(cli) if tier_id not in shadowed}
    skipped: list[tuple[str, str]] = []
    tiers = dict(base)
    for tier_id, given in applied.items():
        try:
            tiers = _applied(tiers, base, tier_id, given)
        except ValueError as exc:
            skipped.append((tier_id, str(exc)))
    conflict: str | None = None
    try:
        ordered = check_tiers(tiers.values())
    except ValueError as exc:  # the config changed under the CLI's tiers: keep those that still fit
        conflict = str(exc)
        tiers, skipped = dict(base), []
        for tier_id, given in applied.items():
            try:
                candidate = _applied(tiers, base, tier_id, given)
                check_tiers(candidate.values())
            except ValueError as exc:
                skipped.append((tier_id, str(exc)))
                continue
            tiers = candidate
        ordered = check_tiers(tiers.values())
    left_out = {tier_id for tier_id, _ in skipped}
    for tier_id, given in applied.items():
        if tier_id in left_out:
            continue
        if given is None:
            origins.pop(tier_id, None)
        else:
            origins[tier_id] = "cli"
    return TierLayers(ordered, origins, shadowed, tuple(skipped), conflict)


def _applied(
    tiers: Mapping[str, CostTierDefinition],
    base: Mapping[str, CostTierDefinition],
    tier_id: str,
    given: Mapping[str, Any] | None,
) -> dict[str, CostTierDefinition]:
    """`tiers` with one CLI edit applied: a removal, or a change of the config's tier `base[tier_id]`
    (a new tier when there is none)."""
    out = dict(tiers)
    if given is None:
        if out.pop(tier_id, None) is None:
            raise ValueError(f"no tier {tier_id!r} to remove")
        return out
    try:
        change = TierChange.model_validate({**given, "id": tier_id})
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ValueError(f"tier {tier_id!r}: {where}: {message}") from None
    out[tier_id] = apply_change(base.get(tier_id), change)
    return out


class TierBook:
    """The effective tiers of a configuration (and of the tiers set from the CLI), with classification."""

    def __init__(self, config: TiersConfig | None = None, layers: TierLayers | None = None) -> None:
        self.config = config if config is not None else TiersConfig()
        self.layers = layers if layers is not None else layer_tiers(self.config, {})
        self._tiers = self.layers.tiers
        self._by_id = {tier.id: tier for tier in self._tiers}

    def origin(self, tier_id: str) -> str | None:
        """`builtin`, `config` or `cli` (None: no such tier)."""
        return self.layers.origins.get(tier_id)

    def all(self) -> tuple[CostTierDefinition, ...]:
        """Every tier, cheapest first."""
        return self._tiers

    def get(self, tier_id: str) -> CostTierDefinition | None:
        """The tier with this id, or None."""
        return self._by_id.get(tier_id)

    def __getitem__(self, tier_id: str) -> CostTierDefinition:
        return self._by_id[tier_id]

    def __contains__(self, tier_id: object) -> bool:
        return tier_id in self._by_id

    def blended_price(self, rates: ModelRates) -> Decimal:
        """The blended price (USD per million tokens) tiers classify by, with the configured weights."""
        return _blend(rates, self.config.blend)

    def classify(self, rates: ModelRates | Decimal) -> str:
        """The tier id of a model's rates, or of a blended price."""
        return classify(rates, self._tiers, self.config.blend)

    def tier_for_model(
        self,
        pricebook: PriceBook,
        provider: str,
        model: str,
        at: datetime | None = None,
        service_tier: str | None = None,
    ) -> str | None:
        """The tier id of a model as the price book prices it; None when the model is unknown."""
        rates = pricebook.rates(provider, model, at, service_tier)
        return None if rates is None else self.classify(rates)
