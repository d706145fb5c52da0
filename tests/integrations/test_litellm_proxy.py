"""The LiteLLM proxy with `CostwardenLogger` as its callback refuses over-budget calls the way the gateway
does: HTTP 429 with `retry-after`, `x-should-retry: false` and costwarden's notice, which the OpenAI SDK
does not retry (before, the refusal reached clients as HTTP 500, retried twice).

The hook's exception is tested against LiteLLM's own `ProxyException`; the end-to-end test runs the real
`litellm` proxy (both skipped when LiteLLM, or its proxy extra, is not installed)."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from costwarden.errors import BudgetExceeded
from costwarden.integrations.litellm import proxy_refusal

HAS_PROXY = (
    importlib.util.find_spec("litellm") is not None and importlib.util.find_spec("fastapi") is not None
)
NOW = datetime(2026, 3, 14, 21, 30, tzinfo=UTC)
MASTER_KEY = "sk-" + "5e" * 32


def _refused() -> BudgetExceeded:
    return BudgetExceeded(
        "Cloud budget exhausted until 2026-03-15 00:00 UTC",
        budget_id="daily",
        scope="global",
        period="2026-03-14",
        limit=Decimal("0.05"),
        spent=Decimal("0.049"),
        reserved=Decimal(0),
        resets_at=datetime(2026, 3, 15, tzinfo=UTC),
        requested=Decimal("0.2"),
    )


def test_without_the_proxy_the_refusal_stays_budget_exceeded() -> None:
    if HAS_PROXY:
        pytest.skip("LiteLLM's proxy is installed")
    refused = _refused()
    assert proxy_refusal(refused, NOW) is refused


@pytest.mark.skipif(not HAS_PROXY, reason="LiteLLM's proxy is not installed")
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")  # raised inside LiteLLM
def test_refusal_is_the_proxys_own_429() -> None:  # pragma: no cover - needs the optional extra
    from litellm.proxy._types import ProxyException

    refusal = proxy_refusal(_refused(), NOW)
    assert isinstance(refusal, ProxyException)
    assert refusal.code == "429"
    assert refusal.headers == {"retry-after": "9000", "x-should-retry": "false"}
    error = refusal.to_dict()
    assert error["type"] == "insufficient_quota"
    assert error["message"] == "Cloud budget exhausted until 2026-03-15 00:00 UTC"
    assert refusal.openai_code == "budget_exceeded"
    assert error["provider_specific_fields"]["costwarden"]["budget"] == "daily"  # type: ignore[index]
    assert error["provider_specific_fields"]["costwarden"]["code"] == "budget_exceeded"  # type: ignore[index]


CALLBACKS = """\
from costwarden import Warden
from costwarden.integrations.litellm import CostwardenLogger

handler = CostwardenLogger(Warden.from_config())
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
@pytest.mark.skipif(not HAS_PROXY, reason="LiteLLM's proxy is not installed")
def test_real_proxy_answers_429_not_500(tmp_path: Path) -> None:  # pragma: no cover - needs the extra
    import httpx2
    import openai

    from costwarden.testing import FakeProvider

    litellm_bin = Path(sys.executable).with_name("litellm")
    with FakeProvider() as fake:
        (tmp_path / "costwarden_callbacks.py").write_text(CALLBACKS)
        (tmp_path / "costwarden.yaml").write_text(
            json.dumps(
                {
                    "database": f"sqlite:///{tmp_path / 'ledger.db'}",
                    "budgets": [{"id": "daily", "name": "Cloud", "period": "day", "cost_usd": "0.05"}],
                }
            )
        )
        (tmp_path / "litellm.yaml").write_text(
            json.dumps(
                {
                    "model_list": [
                        {
                            "model_name": "gpt-5-mini",
                            "litellm_params": {
                                "model": "openai/gpt-5-mini",
                                "api_base": fake.openai_base_url,
                                "api_key": "sk-fake",
                            },
                        }
                    ],
                    "litellm_settings": {"callbacks": "costwarden_callbacks.handler"},
                }
            )
        )
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("COSTWARDEN_")}
        env.update(
            COSTWARDEN_CONFIG=str(tmp_path / "costwarden.yaml"),
            LITELLM_LOCAL_MODEL_COST_MAP="True",
            LITELLM_MASTER_KEY=MASTER_KEY,
            PYTHONPATH=str(tmp_path),
        )
        proxy = subprocess.Popen(
            [str(litellm_bin), "--config", str(tmp_path / "litellm.yaml"), "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                assert proxy.poll() is None, "the LiteLLM proxy exited"
                try:
                    if httpx2.get(f"{url}/health/liveliness", timeout=1).status_code == 200:
                        break
                except httpx2.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the LiteLLM proxy did not start"
                time.sleep(0.5)
            sent: list[str] = []
            http_client = openai.DefaultHttpxClient(
                event_hooks={"request": [lambda r: sent.append(str(r.url))]}
            )
            with openai.OpenAI(
                base_url=url, api_key=MASTER_KEY, max_retries=2, http_client=http_client
            ) as client:
                reply = client.chat.completions.create(
                    model="gpt-5-mini",
                    messages=[{"role": "user", "content": "hi"}],
                    max_completion_tokens=100,
                )
                assert reply.choices[0].message.content
                with pytest.raises(openai.RateLimitError) as caught:
                    client.chat.completions.create(
                        model="gpt-5-mini",
                        messages=[{"role": "user", "content": "hi"}],
                        max_completion_tokens=100_000,  # $0.20 at worst: over the $0.05 budget
                    )
        finally:
            proxy.send_signal(signal.SIGINT)
            try:
                proxy.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proxy.kill()
                proxy.wait()
        assert fake.served == 1
    response = caught.value.response
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["x-should-retry"] == "false"
    body = response.json()["error"]
    assert body["type"] == "insufficient_quota" and body["code"] == "429"  # LiteLLM shows the status here
    assert body["message"].startswith("Cloud budget")
    details = body["provider_specific_fields"]["costwarden"]
    assert details["code"] == "budget_exceeded" and details["budget"] == "daily"
    assert details["limit"] == "0.05" and details["notice"] == body["message"]
    assert len(sent) == 2  # the refused call was sent once: the SDK did not retry it
