"""litellm's real HTTP path against the loopback server: replies, retries, timeouts, bad bodies."""

import asyncio
import re
import socket
import subprocess
import sys

import pytest

from tests.loopback_server import Behaviour
from vizhub_pipeline.core import llm
from vizhub_pipeline.generate import baselines  # noqa: F401  (registers the baseline/ provider)

MESSAGES = [{"role": "user", "content": "Draw a chart."}]


def call(**kwargs):
    options = {"retries": 2, "backoff": 0.01, "timeout": 5}
    options.update(kwargs)
    return asyncio.run(llm.complete("openai/loopback-model", MESSAGES, **options))


def test_a_normal_reply_carries_text_tokens_and_the_request_parameters(loopback):
    loopback.enqueue(Behaviour(reply="**index.html**\n```html\n<p>hi</p>\n```"))
    completion = call(temperature=0.2, max_tokens=256, seed=7)
    assert completion.text == "**index.html**\n```html\n<p>hi</p>\n```"
    assert completion.tokens_in == len("Draw a chart.") // 4
    assert completion.attempts == 1
    request = loopback.requests[-1]
    assert request["model"] == "loopback-model"
    assert request["messages"] == MESSAGES
    assert (request["temperature"], request["max_tokens"], request["seed"]) == (0.2, 256, 7)


def test_a_rate_limit_is_retried_then_succeeds(loopback):
    loopback.enqueue(Behaviour(status=429, headers={"retry-after": "0"}), Behaviour(reply="done"))
    completion = call()
    assert completion.text == "done"
    assert completion.attempts == 2
    assert len(loopback.requests) == 2


def test_server_errors_are_retried_until_the_limit_then_fail(loopback):
    loopback.enqueue(*[Behaviour(status=500)] * 3)
    with pytest.raises(llm.ModelCallError) as failure:
        call(retries=2)
    assert failure.value.attempts == 3
    assert "500" in str(failure.value)
    assert len(loopback.requests) == 3


def test_a_client_error_is_not_retried(loopback):
    loopback.enqueue(Behaviour(status=400))
    with pytest.raises(llm.ModelCallError) as failure:
        call(retries=3)
    assert failure.value.attempts == 1
    assert "BadRequestError" in str(failure.value)


def test_a_call_that_takes_too_long_times_out_and_is_retried(loopback):
    loopback.enqueue(Behaviour(delay=2.5), Behaviour(reply="second try"))
    completion = call(timeout=0.5, retries=1)
    assert completion.text == "second try"
    assert completion.attempts == 2


def test_a_timeout_with_no_retries_left_fails_clearly(loopback):
    loopback.enqueue(Behaviour(delay=2.5))
    with pytest.raises(llm.ModelCallError) as failure:
        call(timeout=0.5, retries=0)
    assert "Timeout" in str(failure.value) or "timed out" in str(failure.value)


def test_a_malformed_body_fails_without_hanging(loopback):
    loopback.enqueue(*[Behaviour(raw=b"{not json")] * 2)
    with pytest.raises(llm.ModelCallError) as failure:
        call(retries=1)
    assert failure.value.attempts == 2
    assert "Expecting" in str(failure.value) or "JSON" in str(failure.value)


def test_a_missing_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(llm.ModelSetupError) as failure:
        llm.check_model("gpt-4o")
    assert str(failure.value) == "gpt-4o: OPENAI_API_KEY is not set; export OPENAI_API_KEY=... or add it to .env"


def test_an_unknown_model_is_refused_before_any_call():
    with pytest.raises(llm.ModelSetupError, match="unknown model 'no-such-model-xyz'"):
        llm.check_model("no-such-model-xyz")
    with pytest.raises(llm.ModelSetupError) as failure:
        llm.check_model("baseline/nothing")
    assert (
        str(failure.value) == "unknown model 'baseline/nothing': baseline/ serves baseline/starter, baseline/reference"
    )


def test_baselines_answer_through_litellm_with_the_files_they_are_given():
    files = {"index.html": "<p>starter</p>\n"}
    completion = asyncio.run(
        llm.complete("baseline/starter", MESSAGES, metadata={"vizhub_starter": files, "vizhub_reference": {}})
    )
    assert completion.text == "**index.html**\n```html\n<p>starter</p>\n```\n"
    assert completion.tokens_in > 0 and completion.tokens_out > 0
    with pytest.raises(llm.ModelCallError, match="no reference solution"):
        asyncio.run(
            llm.complete(
                "baseline/reference", MESSAGES, metadata={"vizhub_starter": files, "vizhub_reference": {}}, retries=0
            )
        )


def test_ollama_needs_no_base_and_defaults_to_localhost(monkeypatch):
    monkeypatch.delenv("OLLAMA_API_BASE", raising=False)
    llm.check_model("ollama/llama3.1")
    assert llm._endpoint("ollama/llama3.1") == "http://localhost:11434"


@pytest.mark.parametrize(
    "typo, suggested",
    [("gtp-4o", "gpt-4o"), ("claude-sonet", "claude-sonnet"), ("gpt-4o-mni", "gpt-4o-mini")],
)
def test_a_typo_is_an_unknown_model_with_the_closest_known_ids(typo, suggested):
    with pytest.raises(llm.ModelSetupError) as failure:
        llm.check_model(typo)
    message = str(failure.value)
    assert message.startswith(f"unknown model {typo!r}: did you mean "), message
    assert suggested in message.split("did you mean ", 1)[1].split("?")[0]


def test_an_openai_name_without_a_custom_base_must_be_an_openai_model(monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_API_BASE", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(llm.ModelSetupError) as failure:
        llm.check_model("openai/gpt-4o-mni")
    assert str(failure.value).startswith(
        "unknown model 'openai/gpt-4o-mni': OpenAI has no such model; did you mean openai/gpt-4o-mini"
    )
    with pytest.raises(llm.ModelSetupError, match="OPENAI_API_KEY is not set"):
        llm.check_model("openai/gpt-4o-mini")  # a real OpenAI model: now the key is what is missing


def test_with_a_custom_openai_base_any_name_is_valid(monkeypatch):
    monkeypatch.setenv("OPENAI_API_BASE", "http://127.0.0.1:1/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-anything")
    llm.check_model("openai/gpt-4o-mni")
    llm.check_model("openai/my-served-model")


def test_a_missing_key_is_found_without_importing_litellm(monkeypatch):
    code = (
        "import os, sys\n"
        "for name in ('OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'OPENROUTER_API_KEY'): os.environ.pop(name, None)\n"
        "from vizhub_pipeline.core import llm\n"
        "for model in ('gpt-4o', 'anthropic/claude-3-5-haiku-latest', 'openrouter/anthropic/claude-3.5-haiku'):\n"
        "    try:\n        llm.check_model(model)\n    except llm.ModelSetupError as exc:\n        print(exc)\n"
        "print('litellm imported' if 'litellm' in sys.modules else 'litellm not imported')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "gpt-4o: OPENAI_API_KEY is not set; export OPENAI_API_KEY=... or add it to .env",
        "anthropic/claude-3-5-haiku-latest: ANTHROPIC_API_KEY is not set; "
        "export ANTHROPIC_API_KEY=... or add it to .env",
        "openrouter/anthropic/claude-3.5-haiku: OPENROUTER_API_KEY is not set; "
        "export OPENROUTER_API_KEY=... or add it to .env",
        "litellm not imported",
    ]


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_endpoint_that_is_not_running_shows_each_retry_and_names_its_url(monkeypatch):
    url = f"http://127.0.0.1:{closed_port()}/v1"
    monkeypatch.setenv("OPENAI_API_BASE", url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    retries: list[str] = []
    with pytest.raises(llm.ModelCallError) as failure:
        asyncio.run(
            llm.complete("openai/served", MESSAGES, retries=2, backoff=0.01, timeout=5, on_retry=retries.append)
        )
    assert failure.value.attempts == 3
    assert str(failure.value).endswith(f"({url}, after 3 attempts)"), str(failure.value)
    assert len(retries) == 2
    for number, line in enumerate(retries, start=1):
        assert line.startswith(f"openai/served at {url}: "), line
        assert "Connection" in line or "connect" in line, line
        assert re.search(rf"; retry {number}/2 in \d+\.\d s$", line), line
