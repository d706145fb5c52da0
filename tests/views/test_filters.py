"""`--where` parsing without the CLI: repeated fields are ORed, `FIELD=` means unset, errors name
the option."""

from __future__ import annotations

import pytest

from costwarden.views.errors import QueryError
from costwarden.views.filters import canonical_where, parse_where


def test_items_become_the_ledger_filter() -> None:
    where = parse_where(["project=a", "project=b", "agent=x", "session=", "tag:team=red", "project=a"])
    assert where == {"project": ("a", "b"), "agent": "x", "session": None, "tag:team": "red"}
    assert parse_where(None) == {} and parse_where([]) == {}


@pytest.mark.parametrize(
    ("item", "said"),
    [("project", "expected FIELD=VALUE"), ("=x", "expected FIELD=VALUE"), ("colour=red", "cannot filter by")],
)
def test_a_bad_item_names_the_option(item: str, said: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_where([item])
    assert caught.value.option == "--where" and said in caught.value.message
    assert str(caught.value).startswith("--where: ")
    with pytest.raises(ValueError, match="where"):  # a ValueError to callers that know no better
        parse_where([item], option="where")


def test_provider_and_model_take_their_canonical_names() -> None:
    names = {("claude", ""): ("anthropic", ""), ("anthropic", "sonnet-dated"): ("anthropic", "sonnet")}

    def canonical(provider: str, model: str) -> tuple[str, str]:
        return names.get((provider, model), (provider, model))

    where = parse_where(["provider=claude", "model=sonnet-dated", "agent=x"])
    assert canonical_where(where, canonical) == {
        "provider": "anthropic",
        "model": "sonnet-dated",
        "agent": "x",
    }
    assert parse_where(["provider=anthropic", "model=sonnet-dated"], canonical) == {
        "provider": "anthropic",
        "model": "sonnet",
    }
    assert parse_where(["provider=claude", "provider=anthropic"], canonical) == {"provider": "anthropic"}
