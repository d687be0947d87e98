"""litellm's real HTTP path against the loopback server: replies, retries, timeouts, bad bodies."""

import asyncio

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
