"""The fake provider speaks the wire formats byte for byte (checked without any SDK)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from costwarden.testing import FakeProvider, Reply


def post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


@pytest.fixture(scope="module")
def fake() -> Any:
    with FakeProvider() as server:
        yield server


def test_chat_json_and_headers(fake: FakeProvider) -> None:
    fake.enqueue(Reply(input_tokens=10, cache_read_tokens=5, output_tokens=3, reasoning_tokens=1))
    status, headers, body = post(
        f"{fake.openai_base_url}/chat/completions", {"model": "gpt-5", "messages": []}
    )
    data = json.loads(body)
    assert status == 200
    assert headers["x-request-id"].startswith("req_")
    assert headers["x-ratelimit-limit-requests"] == "10000"
    assert data["usage"]["prompt_tokens"] == 15
    assert data["usage"]["prompt_tokens_details"]["cached_tokens"] == 5
    assert data["usage"]["completion_tokens_details"]["reasoning_tokens"] == 1
    assert fake.requests[-1].body == {"model": "gpt-5", "messages": []}


def test_chat_sse_ends_with_usage_then_done(fake: FakeProvider) -> None:
    body = {"model": "gpt-5", "messages": [], "stream": True, "stream_options": {"include_usage": True}}
    _status, headers, raw = post(f"{fake.openai_base_url}/chat/completions", body)
    assert headers["content-type"].startswith("text/event-stream")
    events = [line for line in raw.decode().split("\n\n") if line]
    assert events[-1] == "data: [DONE]"
    last = json.loads(events[-2].removeprefix("data: "))
    assert last["choices"] == [] and last["usage"]["total_tokens"] > 0
    assert ": " not in events[1].split("data: ", 1)[1]  # compact JSON like the real API


def test_anthropic_sse_event_names(fake: FakeProvider) -> None:
    body = {"model": "claude-haiku-4-5", "max_tokens": 10, "messages": [], "stream": True}
    _, headers, raw = post(f"{fake.anthropic_base_url}/v1/messages", body)
    names = [block.split("\n")[0].removeprefix("event: ") for block in raw.decode().split("\n\n") if block]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert headers["anthropic-ratelimit-requests-limit"] == "10000"
    assert headers["request-id"].startswith("req_")


def test_injected_errors(fake: FakeProvider) -> None:
    fake.enqueue(Reply(error=429), Reply(error=529))
    status, headers, body = post(f"{fake.openai_base_url}/responses", {"model": "gpt-5", "input": "x"})
    assert status == 429 and headers["retry-after"] == "1"
    assert json.loads(body)["error"]["type"] == "rate_limit_exceeded"
    status, _, body = post(f"{fake.anthropic_base_url}/v1/messages", {"model": "m", "messages": []})
    assert status == 529 and json.loads(body)["error"]["type"] == "overloaded_error"


def test_unknown_route(fake: FakeProvider) -> None:
    status, _, _ = post(f"{fake.base_url}/v1/embeddings", {})
    assert status == 404


def test_reused_response_ids_like_ollama() -> None:
    with FakeProvider(response_ids=3) as server:
        seen = set()
        for _ in range(60):
            request = urllib.request.Request(
                f"{server.openai_base_url}/chat/completions",
                data=json.dumps({"model": "m", "messages": [{"role": "user", "content": "x"}]}).encode(),
                headers={"content-type": "application/json"},
            )
            with urllib.request.urlopen(request) as response:
                seen.add(json.loads(response.read())["id"])
        assert seen == {"chatcmpl-0", "chatcmpl-1", "chatcmpl-2"}
    with pytest.raises(ValueError, match="response_ids"):
        FakeProvider(response_ids=0)


def test_run_from_the_command_line_with_the_limits_its_headers_announce() -> None:
    import signal
    import subprocess
    import sys

    command = [
        sys.executable,
        "-m",
        "costwarden.testing",
        "--rate-limit-requests",
        "50",
        "--rate-limit-tokens",
        "7000",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        body = {"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}]}
        status, headers, _ = post(f"{url}/v1/chat/completions", body)
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
    assert status == 200
    assert (headers["x-ratelimit-limit-requests"], headers["x-ratelimit-remaining-requests"]) == ("50", "49")
    assert (headers["x-ratelimit-limit-tokens"], headers["x-ratelimit-remaining-tokens"]) == ("7000", "6000")
