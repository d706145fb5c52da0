"""Standard Webhooks signatures as the `standardwebhooks` library checks them, and secrets that never show
in an error."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

import pytest
import standardwebhooks

from costwarden.core.channels import decode_webhook_secret
from costwarden.notify import new_secret, sign, signed_headers


def test_signatures_verify_with_the_reference_library() -> None:
    secret = new_secret()
    body = '{"type":"costwarden.alert.threshold","data":{"message":"Budget reached 80% \\u2014 $0.80"}}'
    stamp = int(datetime.now(UTC).timestamp())
    headers = signed_headers(secret, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", stamp, body)
    verifier = standardwebhooks.Webhook(secret)
    assert verifier.verify(body, headers)["type"] == "costwarden.alert.threshold"
    assert headers["webhook-signature"] == verifier.sign(
        "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", datetime.fromtimestamp(stamp, UTC), body
    )
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        verifier.verify(body.replace("80", "90"), headers)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(new_secret()).verify(body, headers)


def test_the_spec_example_signature() -> None:
    # the example of the Standard Webhooks specification
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = '{"test": 2432232314}'
    assert sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_new_secrets_hold_32_random_bytes() -> None:
    first, second = new_secret(), new_secret()
    assert first != second
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", first)
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "starts with whsec_"),
        ("whsec_not base64!", "whsec_ followed by base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "24 to 64 bytes after whsec_, this one 5"),
    ],
)
def test_bad_secrets_are_refused_without_repeating_them(secret: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        decode_webhook_secret(secret)
    assert secret.removeprefix("whsec_") not in str(caught.value)
