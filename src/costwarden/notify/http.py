"""One HTTP POST of a JSON body (standard library only): redirects are not followed (a webhook answers
where it was configured), any 2xx is a delivery, anything else a failure with the status and the start of
the receiver's answer."""

from __future__ import annotations

import functools
import urllib.error
import urllib.request
from typing import Any

from costwarden._version import __version__
from costwarden.notify.sender import Outcome, Scrubber, describe_error

__all__ = ["post_json", "USER_AGENT"]

USER_AGENT = f"costwarden/{__version__}"
_ANSWER_MAX = 300


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@functools.cache
def _opener() -> urllib.request.OpenerDirector:
    """Built on first use (nothing is built at import time)."""
    return urllib.request.build_opener(_NoRedirects)


def _answer(raw: bytes) -> str:
    return raw[:_ANSWER_MAX].decode("utf-8", "replace").strip()


def post_json(url: str, body: str, headers: dict[str, str], timeout: float, scrub: Scrubber) -> Outcome:
    """POST `body` as `application/json`; the outcome never contains the URL or a secret."""
    request = urllib.request.Request(
        url,
        data=body.encode("utf-8"),
        method="POST",
        headers={"content-type": "application/json", "user-agent": USER_AGENT, **headers},
    )
    try:
        with _opener().open(request, timeout=timeout) as response:
            status = int(response.status)
            answer = _answer(response.read(_ANSWER_MAX))
    except urllib.error.HTTPError as exc:
        with exc:
            answer = _answer(exc.read(_ANSWER_MAX)) if exc.fp is not None else ""
        return Outcome(False, f"http {exc.code}", scrub(answer or exc.reason or None))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        outcome, detail = describe_error(exc)
        return Outcome(False, outcome, scrub(detail))
    if 200 <= status < 300:
        return Outcome(True, f"http {status}", scrub(answer) or None)
    return Outcome(False, f"http {status}", scrub(answer) or None)
