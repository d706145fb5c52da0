"""Admission tokens as text: every claim survives the round trip, nothing else is accepted."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest

from costwarden.core.admission import Amounts
from costwarden.core.admission_token import TokenClaims, decode_token, encode_token
from costwarden.core.calls import Admission, CallRequest, Decision
from costwarden.core.usage import Attribution
from costwarden.errors import AdmissionTokenError

KEY = b"k" * 32


def admission() -> Admission:
    request = CallRequest(
        provider="anthropic",
        model="claude-opus-4-1",
        attribution=Attribution(project="p/1", agent="ré", run="r1", tags={"team": "a b", "x": "1"}),
        input_tokens=1200,
        max_tokens=300,
        service_tier="priority",
    )
    return Admission(
        request=request,
        provider="openai",
        model="gpt-5-mini",
        decision=Decision.FALLBACK,
        reserved=Decimal("0.0123456789"),
        reservation_ids=("cw-1",),
        holds=(
            ("daily|project=p/1|2026-12-01", Amounts(123456789, 1500, 1, 0)),
            ("c|*|live", Amounts(0, 0, 0, 1)),
        ),
        expires=1_800_000_900.5,
    )


def test_every_claim_survives_the_round_trip() -> None:
    original = admission()
    token = encode_token(TokenClaims(original, 1_800_000_000.25, 1_800_000_900.5), KEY)
    claims = decode_token(token, KEY)
    assert claims.admitted_at == 1_800_000_000.25
    assert claims.expires == 1_800_000_900.5
    back = claims.admission
    assert back.request == original.request  # attribution, sizes, tier and the call's id
    for name in ("provider", "model", "decision", "reserved", "reservation_ids", "holds", "expires"):
        assert getattr(back, name) == getattr(original, name), name
    assert back.switched and not back.settled


def test_a_token_is_url_safe_text() -> None:
    token = encode_token(TokenClaims(admission(), 1.0, 2.0), KEY)
    assert token.startswith("cw1.")
    assert set(token) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def _altered(token: str, **changes: object) -> str:
    prefix, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(changes)
    data = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{prefix}.{data}.{signature}"


@pytest.mark.parametrize(
    "changes",
    [
        {"reservations": ["cw-someone-else"]},
        {"attribution": {"project": "other"}},
        {"route": ["cloud", "free"]},
        {"exp": 9e12},
    ],
    ids=["reservation", "attribution", "route", "expiry"],
)
def test_altered_claims_are_refused(changes: dict[str, object]) -> None:
    token = encode_token(TokenClaims(admission(), 1.0, 2.0), KEY)
    with pytest.raises(AdmissionTokenError, match="signature does not match") as info:
        decode_token(_altered(token, **changes), KEY)
    assert info.value.reason == "invalid"


def test_a_token_of_another_key_is_refused() -> None:
    token = encode_token(TokenClaims(admission(), 1.0, 2.0), b"other" * 8)
    with pytest.raises(AdmissionTokenError, match="another database"):
        decode_token(token, KEY)


@pytest.mark.parametrize("text", ["", "cw1", "cw1.abc", "cw2.abc.def", "not a token", "cw1..sig"])
def test_malformed_text_is_refused(text: str) -> None:
    with pytest.raises(AdmissionTokenError, match="not an admission token") as info:
        decode_token(text, KEY)
    assert info.value.reason == "invalid"


def test_signed_garbage_is_refused_with_its_reason() -> None:
    """Claims that were signed but cannot be read (never made by `encode_token`) are still refused."""
    import hashlib
    import hmac

    payload = base64.urlsafe_b64encode(b'{"id": 1}').rstrip(b"=").decode()
    signed = f"cw1.{payload}"
    signature = base64.urlsafe_b64encode(hmac.new(KEY, signed.encode(), hashlib.sha256).digest())
    token = f"{signed}.{signature.rstrip(b'=').decode()}"
    with pytest.raises(AdmissionTokenError, match="cannot be read"):
        decode_token(token, KEY)


def test_not_text_is_refused() -> None:
    with pytest.raises(AdmissionTokenError, match="got bytes"):
        decode_token(b"cw1.a.b", KEY)  # type: ignore[arg-type]
