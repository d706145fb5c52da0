"""LiteLLM: a `CustomLogger` that records every call LiteLLM makes, and enforces budgets in its proxy.

    import litellm
    from costwarden.integrations.litellm import CostwardenLogger

    litellm.callbacks = [CostwardenLogger(warden)]
    litellm.completion(model="gpt-5", messages=[...], metadata={"costwarden_project": "shop"})

Or in the proxy's `config.yaml` (`litellm_settings: callbacks: costwarden_callbacks.handler`, with a
module `costwarden_callbacks.py` holding `handler = CostwardenLogger(Warden.from_config())`).

Usage comes from the response's `usage` (LiteLLM normalises every provider to the OpenAI shape: its
`prompt_tokens` include cache reads and writes, `prompt_tokens_details` has `cached_tokens`,
`cache_write_tokens` / `cache_creation_tokens` and the 5m/1h split in `cache_creation_token_details`), else
from `kwargs["standard_logging_object"]` (`prompt_tokens` / `completion_tokens`). The price is costwarden's
own; LiteLLM's `response_cost` is kept as the tag `litellm_cost`. The event id is `litellm:<id>` of the
standard logging object. Attribution: request `metadata` keys `costwarden_project`, `costwarden_agent`,
... (as in the SDK wrappers), else the proxy key's team alias (project), key alias (agent), end user
(user) and `litellm_session_id` (session); `request_tags` become tags.

In the proxy, `async_pre_call_hook` admits each call (worst case against every budget; a fallback
decision rewrites `data["model"]`), and the success and failure hooks settle it. A refusal reaches the
client as the gateway's do: HTTP 429 with `retry-after` at the budget's reset, `x-should-retry: false`
unless it resets within a minute (the OpenAI and Anthropic SDKs do not retry it), error type
`insufficient_quota`, code `budget_exceeded` and costwarden's notice as the message (raised as the proxy's
own `ProxyException`; any other exception becomes HTTP 500 there). Without the proxy (SDK mode) calls
are recorded after the fact. LiteLLM is an optional extra (`pip install 'costwarden[litellm]'`); this
module also loads without it (for tests).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from costwarden.core.calls import Admission, CallRequest
from costwarden.core.recorder import Admitter
from costwarden.core.usage import (
    ATTRIBUTION_FIELDS,
    Attribution,
    EventSource,
    EventStatus,
    Usage,
    UsageEvent,
    new_event_id,
)
from costwarden.errors import BudgetExceeded
from costwarden.forking import ForkSafeLock
from costwarden.integrations.options import PREFIX, parse_fallbacks
from costwarden.integrations.refusals import refusal_code, refusal_details, refusal_headers
from costwarden.integrations.usage import count, field

__all__ = ["CostwardenLogger", "litellm_usage", "proxy_refusal", "PROVIDERS"]

try:  # pragma: no branch - which base depends on the environment
    from litellm.integrations.custom_logger import CustomLogger as _Base  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # LiteLLM is an optional extra

    class _Base:  # type: ignore[no-redef]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass


PROVIDERS: dict[str, str] = {
    "gemini": "google",
    "vertex_ai": "google-vertex",
    "vertex_ai_beta": "google-vertex",
    "bedrock": "aws-bedrock",
    "azure": "azure",
    "azure_ai": "azure",
    "xai": "x-ai",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
}
"""LiteLLM provider names that costwarden's price book knows under another id."""

_ADMISSION_TTL = 3600.0


def litellm_usage(usage: Any) -> Usage:
    """LiteLLM's normalised `usage` -> non-overlapping slices (cached and written tokens taken out of the
    prompt; if the prompt is smaller than them, it was already the uncached input)."""
    prompt = count(usage, "prompt_tokens")
    details = field(usage, "prompt_tokens_details")
    cached = count(details, "cached_tokens") or count(usage, "cache_read_input_tokens")
    written = (
        count(details, "cache_write_tokens")
        or count(details, "cache_creation_tokens")
        or count(usage, "cache_creation_input_tokens")
    )
    split = field(details, "cache_creation_token_details")
    one_hour = min(count(split, "ephemeral_1h_input_tokens"), written)
    uncached = prompt - cached - written if prompt >= cached + written else prompt
    output = count(usage, "completion_tokens")
    return Usage(
        input_tokens=uncached,
        cache_read_tokens=cached,
        cache_write_tokens=written - one_hour,
        cache_write_1h_tokens=one_hour,
        output_tokens=output,
        reasoning_tokens=min(count(usage, "completion_tokens_details", "reasoning_tokens"), output),
        web_search_requests=count(details, "web_search_requests"),
    )


def _metadata(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    params = kwargs.get("litellm_params") or {}
    for source in (params.get("metadata"), kwargs.get("metadata"), params.get("litellm_metadata")):
        if isinstance(source, Mapping):
            merged.update(source)
    return merged


def _attribution(kwargs: Mapping[str, Any], slo: Mapping[str, Any]) -> Attribution:
    meta = _metadata(kwargs)
    slo_meta = slo.get("metadata") or {}
    values: dict[str, Any] = {
        name: meta.get(f"{PREFIX}{name}") for name in ATTRIBUTION_FIELDS if meta.get(f"{PREFIX}{name}")
    }
    values.setdefault("project", slo_meta.get("user_api_key_team_alias") or None)
    values.setdefault("agent", slo_meta.get("user_api_key_alias") or None)
    values.setdefault("user", slo.get("end_user") or slo_meta.get("user_api_key_end_user_id") or None)
    values.setdefault("session", slo.get("session_id") or None)
    tags: dict[str, str] = {}
    for tag in slo.get("request_tags") or ():
        if isinstance(tag, str) and tag:
            name, sep, value = tag.partition(":")
            tags[name if sep else tag] = value if sep else "true"
    extra = meta.get(f"{PREFIX}tags")
    if isinstance(extra, Mapping):
        tags.update({str(k): str(v) for k, v in extra.items()})
    clean = {k: v for k, v in values.items() if isinstance(v, str) and v}
    return Attribution(**clean, tags=tags)


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.astimezone(UTC)
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    return None


def _cost(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        return str(Decimal(str(value)).normalize())
    except InvalidOperation:
        return None


class CostwardenLogger(_Base):  # type: ignore[misc, unused-ignore]
    """LiteLLM callback: records success and failure events; in the proxy also admits calls first."""

    def __init__(self, warden: Admitter, *, provider: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.warden = warden
        self.provider = provider
        self._admissions: dict[str, tuple[float, Admission]] = {}
        self._lock = ForkSafeLock()

    # -- LiteLLM hooks -----------------------------------------------------------------------------------

    def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self.record(kwargs, response_obj, start_time, end_time, failed=False)

    def log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self.record(kwargs, response_obj, start_time, end_time, failed=True)

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self.record(kwargs, response_obj, start_time, end_time, failed=False)

    async def async_log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self.record(kwargs, response_obj, start_time, end_time, failed=True)

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: Any
    ) -> Any:
        """Proxy only: admit the call before LiteLLM sends it; a refusal is raised as `proxy_refusal`."""
        model = data.get("model")
        call_id = data.get("litellm_call_id")
        if not isinstance(model, str) or not isinstance(call_id, str):
            return data
        meta = _metadata(data)
        auth = {
            "user_api_key_team_alias": getattr(user_api_key_dict, "team_alias", None),
            "user_api_key_alias": getattr(user_api_key_dict, "key_alias", None),
        }
        attribution = _attribution(data, {"metadata": auth, "end_user": data.get("user")})
        provider = self.provider or _provider_of(model)
        estimate = self.warden.estimator.estimate(model, data)
        max_tokens = data.get("max_completion_tokens") or data.get("max_tokens")
        request = CallRequest(
            provider=provider,
            model=model,
            attribution=attribution,
            input_tokens=estimate.tokens,
            max_tokens=max_tokens if isinstance(max_tokens, int) and max_tokens >= 0 else None,
            fallbacks=parse_fallbacks(meta.get(f"{PREFIX}fallbacks"), provider),
            capabilities=frozenset({"streaming"} if data.get("stream") else ()),
            request_id=f"litellm:{call_id}",
        )
        try:
            admission = await self.warden.aadmit(request)
        except BudgetExceeded as exc:
            raise proxy_refusal(exc, self.warden.clock.now()) from exc
        self._remember(call_id, admission)
        if admission.switched:
            data["model"] = admission.model
        return data

    # -- recording ---------------------------------------------------------------------------------------

    def _remember(self, call_id: str, admission: Admission) -> None:
        now = time.monotonic()
        stale: list[Admission] = []
        with self._lock:
            self._admissions[call_id] = (now, admission)
            for key, (at, old) in list(self._admissions.items()):
                if now - at > _ADMISSION_TTL:
                    stale.append(old)
                    del self._admissions[key]
        for old in stale:
            self.warden.release(old)

    def _quota(self, provider: str, model: str, slo: Mapping[str, Any]) -> None:
        """Rate-limit headers LiteLLM passed on (`llm_provider-x-ratelimit-...`) -> the provider's quota."""
        headers = field(slo.get("hidden_params"), "additional_headers")
        if not isinstance(headers, Mapping):
            return
        raw = {
            str(k).removeprefix("llm_provider-"): str(v) for k, v in headers.items() if "ratelimit" in str(k)
        }
        if raw:
            self.warden.quotas.observe(provider, raw, model=model)

    def _admission(self, kwargs: Mapping[str, Any], slo: Mapping[str, Any]) -> Admission | None:
        for key in (slo.get("litellm_call_id"), kwargs.get("litellm_call_id"), slo.get("id")):
            if isinstance(key, str):
                with self._lock:
                    found = self._admissions.pop(key, None)
                if found is not None:
                    return found[1]
        return None

    def record(
        self, kwargs: Mapping[str, Any], response_obj: Any, start_time: Any, end_time: Any, *, failed: bool
    ) -> UsageEvent:
        """Record one LiteLLM call from its callback arguments; returns the stored event."""
        slo: Mapping[str, Any] = kwargs.get("standard_logging_object") or {}
        usage_block = field(response_obj, "usage")
        if usage_block is not None:
            usage = litellm_usage(usage_block)
        else:
            usage = Usage(
                input_tokens=count(slo, "prompt_tokens"), output_tokens=count(slo, "completion_tokens")
            )
        raw_model = field(response_obj, "model") or slo.get("model") or kwargs.get("model")
        provider = self.provider or _provider_name(slo.get("custom_llm_provider") or "", str(raw_model or ""))
        model = _model_name(str(raw_model or "unknown"), slo.get("custom_llm_provider"))
        # LiteLLM's own id of the call (one per call, also across its retries); never the provider's
        # response id, which servers reuse
        # (`standard_logging_object.id` is the provider's response id for most providers: not this)
        call_id = slo.get("litellm_call_id") or kwargs.get("litellm_call_id")
        event_id = f"litellm:{call_id}" if isinstance(call_id, str) and call_id else None
        response_id = field(response_obj, "id")
        response_id = response_id if isinstance(response_id, str) and response_id else None
        request_id = _request_id(slo)
        status = EventStatus.ERROR if failed or slo.get("status") == "failure" else EventStatus.OK
        attribution = _attribution(kwargs, slo)
        litellm_cost = _cost(slo.get("response_cost"))
        if litellm_cost is not None:
            attribution = attribution.merged(Attribution(tags={"litellm_cost": litellm_cost}))
        occurred = _when(end_time) or _when(slo.get("endTime")) or self.warden.clock.now()
        started = _when(start_time) or _when(slo.get("startTime"))
        duration = (
            int((occurred - started).total_seconds() * 1000) if started and occurred >= started else None
        )
        tier = field(response_obj, "service_tier")
        self._quota(provider, model, slo)
        admission = self._admission(kwargs, slo)
        if admission is not None:
            return self.warden.settle(
                admission,
                usage,
                event_id=event_id,
                status=status,
                occurred_at=occurred,
                duration_ms=duration,
                source=EventSource.PROXY,
                model=model,
                service_tier=tier if isinstance(tier, str) else None,
                provider_response_id=response_id,
                provider_request_id=request_id,
            )
        return self.warden.record(
            UsageEvent(
                id=event_id or new_event_id(),
                occurred_at=occurred,
                provider=provider,
                model=model,
                usage=usage,
                attribution=attribution,
                source=EventSource.SDK,
                status=status,
                duration_ms=duration,
                service_tier=tier if isinstance(tier, str) else None,
                provider_response_id=response_id,
                provider_request_id=request_id,
            )
        )


def proxy_refusal(exc: BudgetExceeded, now: datetime) -> Exception:
    """A refusal as the LiteLLM proxy answers it: its `ProxyException` with HTTP 429, `retry-after`,
    `x-should-retry` and the notice (the budget's details under `provider_specific_fields.costwarden`).
    Outside the proxy (LiteLLM's proxy module not installed) the `BudgetExceeded` itself."""
    try:
        from litellm.proxy._types import ProxyException  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return exc
    refusal: Exception = ProxyException(
        message=str(exc),
        type="insufficient_quota",
        param=None,
        code=429,
        headers=refusal_headers(exc, now),
        openai_code=refusal_code(exc),
        provider_specific_fields={"costwarden": refusal_details(exc)},
    )
    return refusal


def _request_id(slo: Mapping[str, Any]) -> str | None:
    """The provider's request id header, as LiteLLM passed it on (`llm_provider-x-request-id`)."""
    headers = field(slo.get("hidden_params"), "additional_headers")
    if not isinstance(headers, Mapping):
        return None
    for name in ("llm_provider-x-request-id", "llm_provider-request-id", "x-request-id", "request-id"):
        value = headers.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def _provider_of(model: str) -> str:
    if "/" in model:
        return _provider_name(model.split("/", 1)[0], model)
    if model.startswith("claude"):
        return "anthropic"
    if model.startswith("gemini"):
        return "google"
    return "openai"


def _provider_name(litellm_provider: str, model: str) -> str:
    if not litellm_provider:
        return _provider_of(model)
    return PROVIDERS.get(litellm_provider, litellm_provider)


def _model_name(model: str, litellm_provider: object) -> str:
    """`anthropic/claude-x` -> `claude-x` when the prefix is the provider LiteLLM routed to."""
    if isinstance(litellm_provider, str) and model.startswith(f"{litellm_provider}/"):
        return model[len(litellm_provider) + 1 :]
    return model
