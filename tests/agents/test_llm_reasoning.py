"""Reasoning models and Azure through the openai SDK, against the fake OpenAI server that refuses
`max_tokens` and a non-default `temperature` for reasoning-model ids as OpenAI does."""

import dataclasses
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from agents.llm import Finished, Message, ModelError, ModelEvent, ModelSettings, TextDelta
from agents.llm_chat import ProviderChatModel
from agents.llm_openai import _quirks
from tests.fakes.openai_server import Error, FakeOpenAI, Text

USER: list[Message] = [{"role": "user", "content": "hello"}]


@pytest.fixture(autouse=True)
def no_quirks() -> Iterator[None]:
    _quirks.clear()
    yield
    _quirks.clear()


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
async def model() -> AsyncIterator[ProviderChatModel]:
    chat = ProviderChatModel()
    yield chat
    await chat.aclose()


def call(model_id: str, base_url: str, **overrides: Any) -> ModelSettings:
    settings = ModelSettings(
        model=model_id,
        base_url=base_url,
        api_key="sk-test",
        api_key_env="OPENAI_API_KEY",
        max_tokens=256,
        temperature=0.3,
        timeout=5.0,
        idle_timeout=5.0,
    )
    return dataclasses.replace(settings, **overrides)


async def answer(model: ProviderChatModel, settings: ModelSettings) -> list[ModelEvent]:
    return [event async for event in model.stream(USER, settings)]


def text(events: list[ModelEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def test_the_fake_refuses_max_tokens_as_openai_does(fake: FakeOpenAI) -> None:
    import openai

    async with openai.AsyncOpenAI(base_url=fake.base_url, api_key="k", max_retries=0) as sdk:
        with pytest.raises(openai.BadRequestError) as caught:
            await sdk.chat.completions.create(
                model="gpt-5-mini",
                messages=[{"role": "user", "content": "hello"}],
                max_tokens=10,
                stream=True,
            )
    assert caught.value.body == {
        "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
        "Use 'max_completion_tokens' instead.",
        "type": "invalid_request_error",
        "param": "max_tokens",
        "code": "unsupported_parameter",
    }


async def test_openai_provider_sends_max_completion_tokens_and_reasoning_effort(
    fake: FakeOpenAI, model: ProviderChatModel
) -> None:
    settings = call("openai/gpt-5-mini", fake.base_url, temperature=None, reasoning_effort="low")
    got = await answer(model, settings)
    assert text(got) == "echo: hello"
    body = fake.requests[-1].body
    assert body["model"] == "gpt-5-mini"  # the provider's prefix is ours, not the API's
    assert body["max_completion_tokens"] == 256 and "max_tokens" not in body
    assert body["reasoning_effort"] == "low"


async def test_a_reasoning_model_answers_the_first_message_and_the_quirk_is_remembered(
    fake: FakeOpenAI, model: ProviderChatModel
) -> None:
    """A bare id at a compatible URL gets `max_tokens`; the model refuses it, then the
    temperature: each is fixed once, the user sees only the answer, the next call is right."""
    got = await answer(model, call("gpt-5-mini", fake.base_url))
    assert text(got) == "echo: hello" and isinstance(got[-1], Finished)
    sent = [(r.body.get("max_tokens"), r.body.get("max_completion_tokens")) for r in fake.requests]
    assert sent == [(256, None), (None, 256), (None, 256)]
    assert [r.body.get("temperature") for r in fake.requests] == [0.3, 0.3, None]
    await answer(model, call("gpt-5-mini", fake.base_url))
    assert len(fake.requests) == 4  # remembered: one request
    assert "max_tokens" not in fake.requests[-1].body
    assert "temperature" not in fake.requests[-1].body


async def test_other_models_keep_their_parameters(
    fake: FakeOpenAI, model: ProviderChatModel
) -> None:
    await answer(model, call("gpt-5-mini", fake.base_url))
    await answer(model, call("gpt-fake", fake.base_url))
    assert fake.requests[-1].body["max_tokens"] == 256
    assert fake.requests[-1].body["temperature"] == 0.3


async def test_a_refusal_that_persists_shows_the_provider_message(
    fake: FakeOpenAI, model: ProviderChatModel
) -> None:
    refusal = Error(
        400,
        "Unsupported value: 'reasoning_effort' does not support 'none' with this model.",
        "invalid_request_error",
        "unsupported_value",
    )
    fake.script(refusal, refusal)
    with pytest.raises(ModelError) as caught:
        await answer(model, call("gpt-fake", fake.base_url, temperature=None))
    error = caught.value
    assert error.status == 400
    assert "does not support 'none'" in error.detail
    assert error.message.startswith(f"{fake.base_url} answered HTTP 400: Unsupported value")


async def test_azure_calls_the_deployment_with_its_api_key_header(
    fake: FakeOpenAI, model: ProviderChatModel
) -> None:
    settings = call(
        "azure/gpt-5-mini",
        fake.url,
        api_key="az-key",
        api_key_env="AZURE_OPENAI_API_KEY",
        api_version="2024-10-21",
        temperature=None,
    )
    got = await answer(model, settings)
    assert text(got) == "echo: hello"
    request = fake.requests[-1]
    assert request.path == "/openai/deployments/gpt-5-mini/chat/completions"
    assert request.headers["api-key"] == "az-key"
    assert request.body["max_completion_tokens"] == 256


async def test_azure_without_an_endpoint_says_what_to_set(model: ProviderChatModel) -> None:
    settings = call("azure/gpt-5-mini", "", api_key_env="AZURE_OPENAI_API_KEY")
    with pytest.raises(ModelError) as caught:
        await answer(model, settings)
    assert caught.value.code == "model_not_configured"
    assert "AZURE_OPENAI_ENDPOINT" in caught.value.message


async def test_reasoning_text_is_never_delivered(
    fake: FakeOpenAI, model: ProviderChatModel
) -> None:
    fake.script(Text("The answer.", reasoning="Let me think privately"))
    got = await answer(model, call("ollama/deepseek-r1", fake.base_url, temperature=None))
    assert text(got) == "The answer."


async def test_a_400_about_the_tools_is_not_learnt_away(
    fake: FakeOpenAI, model: ProviderChatModel
) -> None:
    """Only sampling and limit parameters are shed: a refusal naming the tools stays an error."""
    refusal = Error(400, "tools is not supported", "invalid_request_error", "unsupported_parameter")
    fake.script(lambda body: dataclasses.replace(refusal, message=f"{refusal.message}"))
    tools = [{"type": "function", "function": {"name": "now", "parameters": {}}}]
    settings = call("gpt-fake", fake.base_url, temperature=None)
    with pytest.raises(ModelError):
        async for _ in model.stream(USER, settings, tools):
            pass
    assert len(fake.requests) == 1 and _quirks == {}
