"""Secrets never leave in output: database and Redis URLs are shown with their password masked."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["mask_url", "MASK"]

MASK = "***"
_SECRET_PARAMS = re.compile(r"pass|secret|token|key", re.IGNORECASE)
_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:@/]*):(?P<password>[^@/]*)@")


def mask_url(url: str) -> str:
    """`url` with the password of its user info and secret-looking query values (`password=`, `token=`,
    `sslkey=`...) replaced by `***`; anything that is not a URL is returned unchanged."""
    masked = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", url, count=1)
    try:
        parts = urlsplit(masked)
    except ValueError:
        return masked
    if not parts.query:
        return masked
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(_SECRET_PARAMS.search(name) for name, _ in pairs):
        return masked
    query = urlencode([(n, MASK if _SECRET_PARAMS.search(n) else v) for n, v in pairs], safe="*/")
    return urlunsplit(parts._replace(query=query))
