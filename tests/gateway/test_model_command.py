"""`/model` takes provider-qualified ids and refuses an unusable one, keeping the session's model."""

import pytest

from tests.fakes.openai_server import FakeOpenAI
from tests.wsclient import ProtocolClient

pytestmark = [pytest.mark.django_db(transaction=True)]


async def test_model_refuses_an_unusable_id_and_keeps_the_session_model(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    refused, _ = await client.chat("/model anthropic/")
    assert "Name the model after 'anthropic/'" in refused["data"]["text"]
    assert "still uses gpt-fake" in refused["data"]["text"]
    switched, _ = await client.chat("/model openrouter/meta-llama/llama-3.1-8b")
    assert "openrouter/meta-llama/llama-3.1-8b" in switched["data"]["text"]
    status, _ = await client.chat("/status")
    assert "openrouter/meta-llama/llama-3.1-8b" in status["data"]["text"]
    assert fake_openai.requests == []  # commands never reach the model
