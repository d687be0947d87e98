"""What can be told about a model id without importing litellm (which takes seconds to import).

litellm ships its model list as a JSON file (``model_prices_and_context_window_backup.json``,
the one it loads itself with ``LITELLM_LOCAL_MODEL_COST_MAP=True``). Reading that file
directly gives the known ids and their providers in a few milliseconds, so a missing key
or a misspelt id is reported before litellm is imported.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import json
import os
from pathlib import Path

# provider -> the variable that holds its key (the providers the README documents, and a few more)
KEY_VARIABLES = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "xai": "XAI_API_KEY",
}
# providers that need no key; the value is where they are reached unless a variable says otherwise
KEYLESS = {"ollama": "http://localhost:11434", "ollama_chat": "http://localhost:11434"}
BASE_VARIABLES = {
    "openai": ("OPENAI_API_BASE", "OPENAI_BASE_URL"),
    "ollama": ("OLLAMA_API_BASE",),
    "ollama_chat": ("OLLAMA_API_BASE",),
}
DEFAULT_BASES = {"openai": "https://api.openai.com/v1", **KEYLESS}


@functools.cache
def known_models() -> dict[str, str]:
    """litellm's known model ids, each with its provider (empty if the list cannot be found)."""
    spec = importlib.util.find_spec("litellm")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location) / "model_prices_and_context_window_backup.json"
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            return {
                name: str(entry.get("litellm_provider", ""))
                for name, entry in data.items()
                if isinstance(entry, dict) and name != "sample_spec"
            }
    return {}


@functools.cache
def known_providers() -> frozenset[str]:
    return frozenset({provider for provider in known_models().values() if provider} | set(KEYLESS) | set(KEY_VARIABLES))


def custom_base(provider: str) -> str | None:
    """The endpoint set in the environment for ``provider`` (``OPENAI_API_BASE``...), if any."""
    for name in BASE_VARIABLES.get(provider, ()):
        if os.environ.get(name):
            return os.environ[name]
    return None


def endpoint_of(model: str, provider: str) -> str:
    """Where calls to ``model`` go: a URL when known, else the provider's name."""
    return custom_base(provider) or DEFAULT_BASES.get(provider) or f"the {provider} API"


def closest(model: str, provider: str | None = None, count: int = 3) -> list[str]:
    """The known ids nearest to ``model`` (of ``provider`` only, when given), best first."""
    catalog = known_models()
    if provider is None:
        return difflib.get_close_matches(model, list(catalog), n=count, cutoff=0.6)
    names = [name.removeprefix(provider + "/") for name, owner in catalog.items() if owner == provider]
    found = difflib.get_close_matches(model.removeprefix(provider + "/"), names, n=count, cutoff=0.6)
    return [f"{provider}/{name}" for name in found]


def suggestion(model: str, provider: str | None = None) -> str:
    found = closest(model, provider)
    return f"did you mean {', '.join(found)}?" if found else "no known id is close"
