"""Provider-qualified model ids: which API an id names, its settings, and the check that the
admin, /model and onboard share."""

import pytest
from django.test import override_settings

from agents import providers
from agents.providers import BARE, call_settings, check_model_id, split


@pytest.mark.parametrize(
    ("model_id", "provider", "name"),
    [
        ("gpt-4o-mini", "", "gpt-4o-mini"),
        ("openai/gpt-5-mini", "openai", "gpt-5-mini"),
        ("anthropic/claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5"),
        ("azure/my-deployment", "azure", "my-deployment"),
        ("gemini/gemini-2.5-flash", "gemini", "gemini-2.5-flash"),
        ("ollama/llama3.1", "ollama", "llama3.1"),
        ("openrouter/meta-llama/llama-3.1-70b", "openrouter", "meta-llama/llama-3.1-70b"),
        ("vllm/Qwen/Qwen2.5-7B", "vllm", "Qwen/Qwen2.5-7B"),
        ("meta-llama/Llama-3.1-8B", "", "meta-llama/Llama-3.1-8B"),  # a bare HF-style name
    ],
)
def test_an_id_names_its_provider_and_the_name_sent(
    model_id: str, provider: str, name: str
) -> None:
    got, sent = split(model_id)
    assert (got.name, sent) == (provider, name)


@pytest.mark.parametrize(
    ("model_id", "says"),
    [
        ("anthropic/", "Name the model after 'anthropic/'"),
        ("openrouter/gpt-4o", "openrouter/<vendor>/<model>"),
        ("gpt 4o", "one word"),
        ("x" * 201, "one word"),
    ],
)
def test_unusable_ids_are_refused_with_a_clear_reason(model_id: str, says: str) -> None:
    problem = check_model_id(model_id)
    assert problem is not None and says in problem


@pytest.mark.parametrize("model_id", ["", "gpt-4o-mini", "ollama/llama3.1", "azure/prod"])
def test_usable_ids_pass(model_id: str) -> None:
    assert check_model_id(model_id) is None


@override_settings(
    OPENCLAW_PROVIDER_KEYS={"ANTHROPIC_API_KEY": "ant", "OPENAI_API_KEY": "oai", "MY_API_KEY": "m"},
    ANTHROPIC_BASE_URL="https://anthropic.example",
    OPENAI_BASE_URL="http://127.0.0.1:11434/v1",
    OLLAMA_BASE_URL="http://ollama.example/v1",
    AZURE_OPENAI_API_VERSION="2024-10-21",
)
def test_call_settings_take_the_providers_url_and_key_unless_the_agent_names_its_own() -> None:
    anthropic = call_settings("anthropic/claude-x", api_key_env="OPENAI_API_KEY")
    assert (anthropic.base_url, anthropic.api_key, anthropic.api_key_env) == (
        "https://anthropic.example",
        "ant",
        "ANTHROPIC_API_KEY",
    )
    own = call_settings("anthropic/claude-x", api_key_env="MY_API_KEY", base_url="http://p")
    assert (own.base_url, own.api_key) == ("http://p", "m")
    bare = call_settings("llama3.1", api_key_env="OPENAI_API_KEY")
    assert (bare.base_url, bare.api_key) == ("http://127.0.0.1:11434/v1", "oai")
    assert call_settings("ollama/llama3.1").base_url == "http://ollama.example/v1"
    assert call_settings("azure/prod").api_version == "2024-10-21"
    assert call_settings("openai/gpt-5").api_version == ""


def test_bare_ids_at_the_default_url_are_openais_own() -> None:
    assert providers.is_official(BARE, "")
    assert not providers.is_official(BARE, "http://127.0.0.1:8000/v1")
    assert providers.is_official(providers.PROVIDERS["azure"], "https://x.openai.azure.com")


def test_the_admin_refuses_an_unusable_model_or_fallback() -> None:
    from django.core.exceptions import ValidationError

    from agents.models import Agent

    agent = Agent(slug="a", name="A", model="anthropic/", fallback_models=["openrouter/gpt-4o"])
    with pytest.raises(ValidationError) as caught:
        agent.clean_fields(exclude=["workspace"])
    assert "Name the model after 'anthropic/'" in str(caught.value.message_dict["model"])
    assert "openrouter/<vendor>/<model>" in str(caught.value.message_dict["fallback_models"])
    agent.model, agent.fallback_models = "anthropic/claude-sonnet-4-5", ["ollama/llama3.1"]
    agent.clean_fields(exclude=["workspace"])
