"""The page and its assets, files of this package (`assets/`): no CDN, nothing fetched at run time."""

from __future__ import annotations

from functools import cache
from importlib import resources
from string import Template

from costwarden._version import __version__

__all__ = ["asset", "page_html", "ASSETS"]

ASSETS: dict[str, str] = {
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}


@cache
def _read(name: str) -> bytes:
    return resources.files("costwarden.dashboard").joinpath("assets", name).read_bytes()


def asset(name: str) -> tuple[bytes, str] | None:
    """An asset's bytes and media type (None: no such asset)."""
    media = ASSETS.get(name)
    if media is None:
        return None
    return _read(name), media


@cache
def page_html(poll_seconds: float = 5.0) -> str:
    """The page: its frame, the filters and an empty section per panel (filled by the script, which asks
    every `poll_seconds` whether the figures changed)."""
    template = Template(_read("page.html").decode("utf-8"))
    return template.substitute(version=__version__, poll_ms=str(int(poll_seconds * 1000)))
