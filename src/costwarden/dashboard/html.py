"""Small pieces of HTML the panels are built of: escaping, attributes, money and counts as people read them
(each figure also carries its exact value in `data-exact`), and the marks of figures that are not exact."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from html import escape
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from costwarden.reports.formats import money, tokens, usd

__all__ = [
    "esc",
    "attrs",
    "tag",
    "amount",
    "count",
    "when",
    "pct",
    "query_string",
    "UNPRICED_MARK",
    "ESTIMATED_MARK",
]

UNPRICED_MARK = "≈"
"""Before a figure that includes unpriced calls (counted at the fallback price) or estimated usage."""
ESTIMATED_MARK = "est."
_INEXACT = "includes unpriced or estimated calls"


def esc(text: object) -> str:
    return escape(str(text), quote=True)


def attrs(values: Mapping[str, object | None]) -> str:
    """` name="value"` for each value that is not None (True: the bare name)."""
    out: list[str] = []
    for name, value in values.items():
        if value is None or value is False:
            continue
        out.append(f" {name}" if value is True else f' {name}="{esc(value)}"')
    return "".join(out)


def tag(name: str, body: str = "", **values: object | None) -> str:
    """`<name attrs>body</name>`; attribute names use `_` for `-` (and a trailing `_` for keywords)."""
    named = {k.rstrip("_").replace("_", "-"): v for k, v in values.items()}
    return f"<{name}{attrs(named)}>{body}</{name}>"


def amount(value: Decimal, *, inexact: bool = False, note: str | None = None) -> str:
    """Money as people read it (`$12.35`), its exact value in `data-exact`; `inexact` marks a figure that
    includes unpriced or estimated calls."""
    shown = usd(value)
    if inexact:
        return tag(
            "span",
            f'<abbr title="{esc(note or _INEXACT)}">{UNPRICED_MARK}</abbr>{shown}',
            class_="money inexact",
            data_exact=money(value),
        )
    return tag("span", shown, class_="money", data_exact=money(value))


def count(value: int, *, short: bool = True) -> str:
    shown = tokens(value) if short else f"{value:,}"
    return tag("span", shown, class_="count", data_exact=str(value), title=f"{value:,}")


def pct(value: Decimal | None) -> str:
    if value is None:
        return '<span class="pct">—</span>'
    return tag("span", f"{value.normalize():f}%", class_="pct", data_exact=str(value))


def when(at: datetime | None, tz: ZoneInfo) -> str:
    """A moment in the configured timezone, the UTC instant in `datetime`."""
    if at is None:
        return "—"
    local = at.astimezone(tz)
    return tag(
        "time",
        local.strftime("%Y-%m-%d %H:%M"),
        datetime=at.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ"),
        title=str(tz.key),
    )


def query_string(items: Iterable[tuple[str, str]]) -> str:
    text = urlencode(list(items))
    return f"?{text}" if text else ""
