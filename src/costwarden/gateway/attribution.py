"""Attribution from request headers: `x-costwarden-project`, `-agent`, `-session`, `-run`, `-task`,
`-task-type`, `-plan`, `-user` and `-tags` (`name=value,name=value`)."""

from __future__ import annotations

from collections.abc import Iterable

from costwarden.core.usage import ATTRIBUTION_FIELDS, Attribution
from costwarden.errors import ValidationError

__all__ = ["HEADER_PREFIX", "attribution_from_headers", "parse_tags"]

HEADER_PREFIX = b"x-costwarden-"
_FIELDS = {f"x-costwarden-{name.replace('_', '-')}".encode(): name for name in ATTRIBUTION_FIELDS}
_TAGS = b"x-costwarden-tags"
_MAX_VALUE = 256


def parse_tags(value: str, where: str = "x-costwarden-tags") -> dict[str, str]:
    """`team=search,tier=gold` -> `{"team": "search", "tier": "gold"}`; a bare name is `name=true`."""
    tags: dict[str, str] = {}
    for raw in value.split(","):
        item = raw.strip()
        if not item:
            continue
        name, sep, tag_value = item.partition("=")
        name = name.strip()
        if not name:
            raise ValidationError(where, f"expected name=value pairs separated by commas, got {value!r}")
        tags[name] = tag_value.strip() if sep else "true"
    return tags


def attribution_from_headers(headers: Iterable[tuple[bytes, bytes]]) -> Attribution | None:
    """The attribution the `x-costwarden-*` headers give (None when there are none).

    Raises `ValidationError` naming the header for a value that is not text or too long."""
    values: dict[str, str] = {}
    tags: dict[str, str] = {}
    for raw_name, raw_value in headers:
        if not raw_name.startswith(HEADER_PREFIX):
            continue
        name = raw_name.decode("latin-1")
        try:
            value = raw_value.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise ValidationError(name, "expected UTF-8 text") from None
        if len(value) > _MAX_VALUE * (8 if raw_name == _TAGS else 1):
            raise ValidationError(name, f"longer than {_MAX_VALUE} characters")
        if raw_name == _TAGS:
            tags.update(parse_tags(value, name))
            continue
        field = _FIELDS.get(raw_name)
        if field is not None and value:
            values[field] = value
    if not values and not tags:
        return None
    return Attribution(**values, tags=tags)
