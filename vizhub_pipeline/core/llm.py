"""The one seam to litellm: every model call of the project goes through :func:`complete`.

Real providers are reached with keys from the environment (and ``.env``). Providers of the
project's own (the generate stage's built-in baselines) are litellm custom providers,
registered with :func:`register_provider`, so they travel the same path as any other model
and need no key.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from vizhub_pipeline.core import model_ids
from vizhub_pipeline.core.errors import VizhubError


@dataclass(frozen=True)
class CustomProvider:
    """A provider served in this process: ``models`` it knows, and a factory of its litellm
    ``CustomLLM`` handler (called once litellm is imported, so registering stays cheap)."""

    name: str
    models: tuple[str, ...]
    handler: Callable[[], Any]


_providers: dict[str, CustomProvider] = {}
_registered: set[str] = set()


def register_provider(name: str, models: tuple[str, ...], handler: Callable[[], Any]) -> None:
    """Serve ``name/<model>`` ids with ``handler()``; the ids in ``models`` are the known ones."""
    _providers[name] = CustomProvider(name, tuple(models), handler)
    _registered.discard(name)


@dataclass(frozen=True)
class Completion:
    text: str
    tokens_in: int | None
    tokens_out: int | None
    cost: float | None
    latency_s: float
    attempts: int


class ModelCallError(VizhubError):
    """A model call that failed for good (after the retries it deserved)."""

    def __init__(self, message: str, *, attempts: int = 1):
        super().__init__(message)
        self.attempts = attempts


class ModelSetupError(VizhubError):
    """A model that cannot be called at all here (unknown id, missing key); says how to fix it."""


def _litellm():
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    waiting = [provider for name, provider in _providers.items() if name not in _registered]
    if waiting:
        names = {provider.name for provider in waiting}
        others = [item for item in litellm.custom_provider_map if item.get("provider") not in names]
        litellm.custom_provider_map = others + [{"provider": p.name, "custom_handler": p.handler()} for p in waiting]
        _registered.update(names)
    litellm.drop_params = True  # a provider that lacks seed or temperature ignores it
    litellm.suppress_debug_info = True
    return litellm


_PREFIX_HINT = "use a provider prefix such as openai/, anthropic/, openrouter/ or ollama/"


def provider_of(model: str) -> str:
    """The provider that serves ``model`` (``openai``, ``anthropic``, ``baseline``...)."""
    prefix = model.split("/", 1)[0]
    if prefix in _providers:
        return prefix
    if "/" in model and prefix in model_ids.known_providers():
        return prefix
    known = model_ids.known_models().get(model)
    if known:
        return known
    litellm = _litellm()
    try:
        return litellm.get_llm_provider(model)[1]
    except Exception:
        raise ModelSetupError(
            f"unknown model {model!r}: {model_ids.suggestion(model)} (litellm cannot tell its provider; {_PREFIX_HINT})"
        ) from None


def _missing_key(model: str, variable: str) -> ModelSetupError:
    return ModelSetupError(f"{model}: {variable} is not set; export {variable}=... or add it to .env")


def check_model(model: str) -> None:
    """Raise :class:`ModelSetupError` when ``model`` cannot be called (unknown, or a key is missing).

    Known providers and litellm's own model list are checked without importing litellm, so a
    missing key or a misspelt id is reported at once; litellm decides about the rest.
    """
    prefix, slash, name = model.partition("/")
    custom = _providers.get(prefix)
    if custom is not None:
        if model not in custom.models:
            raise ModelSetupError(f"unknown model {model!r}: {prefix}/ serves {', '.join(custom.models)}")
        return
    provider = provider_of(model)
    catalog = model_ids.known_models()
    if (
        provider == "openai"
        and slash
        and model_ids.custom_base("openai") is None
        and "openai"
        not in (
            catalog.get(name),
            catalog.get(model),
        )
    ):
        raise ModelSetupError(
            f"unknown model {model!r}: OpenAI has no such model; {model_ids.suggestion(model, 'openai')} "
            "(for an OpenAI-compatible server, set OPENAI_API_BASE and any name is valid)"
        )
    if provider in model_ids.KEYLESS:
        return
    variable = model_ids.KEY_VARIABLES.get(provider)
    if variable is not None:
        if not os.environ.get(variable):
            raise _missing_key(model, variable)
        return
    litellm = _litellm()
    try:
        found = litellm.validate_environment(model)
    except Exception:
        return  # litellm could not tell; the call itself will say
    missing = [key for key in found.get("missing_keys", []) if key]
    if missing:
        raise (
            _missing_key(model, " and ".join(missing))
            if len(missing) == 1
            else ModelSetupError(
                f"{model}: {' and '.join(missing)} are not set; export {missing[0]}=... or add them to .env"
            )
        )


_RETRYABLE_NAMES = (
    "RateLimitError",
    "InternalServerError",
    "ServiceUnavailableError",
    "BadGatewayError",
    "APIConnectionError",
    "Timeout",
    "APITimeoutError",
)


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, asyncio.TimeoutError):
        return True
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & set(_RETRYABLE_NAMES):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and (status == 429 or status >= 500)


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        value = headers.get("retry-after")
    except Exception:
        return None
    try:
        return min(float(value), 60.0) if value is not None else None
    except ValueError:
        return None


def _describe(exc: BaseException, limit: int = 500) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = re.sub(r" ssl:<[^>]*>", "", text.replace("litellm.", ""))  # an object's address: noise
    return text[:limit]


def _endpoint(model: str) -> str:
    """Where ``model`` is called: a URL when known (``OPENAI_API_BASE``...), else its provider."""
    try:
        provider = provider_of(model)
    except ModelSetupError:
        return "an unknown provider"
    if provider in _providers:
        return f"{provider}/ (served in this process)"
    return model_ids.endpoint_of(model, provider)


async def complete(
    model: str,
    messages: list[dict[str, str]],
    *,
    temperature: float | None = None,
    max_tokens: int | None = None,
    seed: int | None = None,
    timeout: float = 120.0,
    retries: int = 4,
    backoff: float = 2.0,
    metadata: Mapping[str, Any] | None = None,
    on_retry: Callable[[str], None] | None = None,
) -> Completion:
    """One chat completion with retries on rate limits, 5xx, connection errors and timeouts.

    Each attempt is bounded by ``timeout`` seconds; the delay before retry ``n`` is
    ``backoff * 2**n`` with jitter, or the server's ``Retry-After`` when it sends one, so the
    total is bounded by ``retries``. ``on_retry`` gets one line per retry (endpoint, reason,
    delay); the final error names the endpoint.
    """
    litellm = _litellm()
    kwargs: dict[str, Any] = {"model": model, "messages": messages, "timeout": timeout, "max_retries": 0}
    if temperature is not None:
        kwargs["temperature"] = temperature
    if max_tokens is not None:
        kwargs["max_tokens"] = max_tokens
    if seed is not None:
        kwargs["seed"] = seed
    if metadata:
        kwargs["metadata"] = dict(metadata)
    attempt = 0
    while True:
        attempt += 1
        started = time.perf_counter()
        try:
            response = await asyncio.wait_for(litellm.acompletion(**kwargs), timeout=timeout + 5)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # litellm maps every provider error onto its own classes
            if attempt <= retries and _is_retryable(exc):
                delay = _retry_after(exc)
                if delay is None:
                    delay = backoff * (2 ** (attempt - 1)) * random.uniform(0.75, 1.25)
                if on_retry is not None:
                    on_retry(
                        f"{model} at {_endpoint(model)}: {_describe(exc, 120)}; "
                        f"retry {attempt}/{retries} in {delay:.1f} s"
                    )
                await asyncio.sleep(delay)
                continue
            reason = _describe(exc)
            if model.split("/", 1)[0] not in _providers:
                tries = f"after {attempt} attempts" if attempt > 1 else "1 attempt"
                reason += f" ({_endpoint(model)}, {tries})"
            raise ModelCallError(reason, attempts=attempt) from exc
        latency = time.perf_counter() - started
        return _to_completion(litellm, response, latency, attempt)


def _to_completion(litellm, response, latency: float, attempts: int) -> Completion:
    try:
        text = response.choices[0].message.content or ""
    except (AttributeError, IndexError) as exc:
        raise ModelCallError(f"the reply has no message: {exc}", attempts=attempts) from exc
    usage = getattr(response, "usage", None)
    tokens_in = getattr(usage, "prompt_tokens", None)
    tokens_out = getattr(usage, "completion_tokens", None)
    cost = None
    hidden = getattr(response, "_hidden_params", {}) or {}
    if hidden.get("response_cost") is not None:
        cost = float(hidden["response_cost"])
    else:
        try:
            cost = float(litellm.completion_cost(completion_response=response))
        except Exception:
            cost = None  # litellm does not know this model's price
    return Completion(
        text=text, tokens_in=tokens_in, tokens_out=tokens_out, cost=cost, latency_s=latency, attempts=attempts
    )
