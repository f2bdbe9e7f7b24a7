"""Provider-qualified model ids (`openai/gpt-5-mini`, `anthropic/claude-sonnet-4-5`, `ollama/…`):
which API an id names, where it is reached, with which key variable. A bare id keeps its old
meaning: an OpenAI-compatible server at OPENAI_BASE_URL (the OpenAI API when that is empty)."""

import re
from dataclasses import dataclass
from typing import Literal

from django.conf import settings

from agents import llm
from agents.llm import ModelError, ModelSettings

Api = Literal["openai", "azure", "anthropic"]
REASONING_EFFORTS = ("none", "low", "medium", "high")
DEFAULT_KEY_ENV = "OPENAI_API_KEY"  # the agent field's default: "no key variable of its own"


@dataclass(frozen=True, slots=True)
class Provider:
    name: str  # the id's prefix; "" for a bare id
    label: str  # as messages name it
    api: Api  # the SDK client that speaks to it
    key_env: str  # the variable holding its key
    url_setting: str  # the setting holding its base URL ("" for none)
    official: bool  # OpenAI's own API: `max_completion_tokens`, `reasoning_effort`
    needs_key: bool
    effort: bool = False  # takes `reasoning_effort` although not OpenAI's own API

    def base_url(self) -> str:
        return str(getattr(settings, self.url_setting, "")) if self.url_setting else ""


PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider("openai", "OpenAI", "openai", "OPENAI_API_KEY", "OPENAI_BASE_URL", True, True),
        Provider(
            "azure",
            "Azure OpenAI",
            "azure",
            "AZURE_OPENAI_API_KEY",
            "AZURE_OPENAI_ENDPOINT",
            True,
            True,
        ),
        Provider(
            "anthropic",
            "Anthropic",
            "anthropic",
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_BASE_URL",
            False,
            True,
        ),
        Provider(
            "gemini", "Gemini", "openai", "GEMINI_API_KEY", "GEMINI_BASE_URL", False, True, True
        ),
        Provider("ollama", "Ollama", "openai", "OLLAMA_API_KEY", "OLLAMA_BASE_URL", False, False),
        Provider(
            "openrouter",
            "OpenRouter",
            "openai",
            "OPENROUTER_API_KEY",
            "OPENROUTER_BASE_URL",
            False,
            True,
            True,
        ),
        Provider("vllm", "vLLM", "openai", "VLLM_API_KEY", "VLLM_BASE_URL", False, False),
    )
}
BARE = Provider(
    "", "the OpenAI-compatible server", "openai", DEFAULT_KEY_ENV, "OPENAI_BASE_URL", False, False
)
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f]")


def split(model_id: str) -> tuple[Provider, str]:
    """The provider an id names and the model name its API is sent; an id whose first segment
    is no provider's (`meta-llama/Llama-3.1-8B`) is bare, sent whole."""
    prefix, slash, rest = model_id.partition("/")
    provider = PROVIDERS.get(prefix.lower()) if slash else None
    return (BARE, model_id) if provider is None else (provider, rest)


def is_official(provider: Provider, base_url: str) -> bool:
    """OpenAI's own API (or Azure's): a bare id sent to the default URL goes there too."""
    return provider.official or (provider is BARE and not base_url)


def check_model_id(model_id: str) -> str | None:
    """Why `model_id` is no usable model id, or None (an empty id means "the default")."""
    if not model_id:
        return None
    if len(model_id) > 200 or _UNSAFE.search(model_id):
        return "A model id is one word of at most 200 characters, e.g. openai/gpt-5-mini."
    provider, name = split(model_id)
    if provider is not BARE and not name:
        return f"Name the model after '{provider.name}/', e.g. {example(provider)}."
    if provider.name == "openrouter" and "/" not in name.strip("/"):
        return "OpenRouter ids name the vendor too: openrouter/<vendor>/<model>."
    return None


def example(provider: Provider) -> str:
    return {
        "openai": "openai/gpt-5-mini",
        "azure": "azure/<deployment name>",
        "anthropic": "anthropic/claude-sonnet-4-5",
        "gemini": "gemini/gemini-2.5-flash",
        "ollama": "ollama/llama3.1",
        "openrouter": "openrouter/meta-llama/llama-3.1-70b-instruct",
        "vllm": "vllm/<served model name>",
    }.get(provider.name, "gpt-4o-mini")


def check_model_ids(model_ids: list[str]) -> None:
    """Raise `ValueError` naming the first unusable id."""
    for model_id in model_ids:
        if problem := check_model_id(model_id):
            raise ValueError(f"{model_id!r}: {problem}")


def call_settings(
    model_id: str,
    *,
    base_url: str = "",
    api_key_env: str = "",
    temperature: float | None = None,
    max_tokens: int | None = None,
    timeout: float | None = None,
    idle_timeout: float | None = None,
    reasoning_effort: str = "",
) -> ModelSettings:
    """A model id as call settings. An agent's own base URL and key variable win over the
    provider's; its key variable left at the default means "the provider's"."""
    provider, _ = split(model_id)
    key_env = provider.key_env
    if api_key_env and (provider is BARE or api_key_env != DEFAULT_KEY_ENV):
        key_env = api_key_env
    return ModelSettings(
        model=model_id,
        base_url=base_url or provider.base_url(),
        api_key=settings.OPENCLAW_PROVIDER_KEYS.get(key_env, ""),
        api_key_env=key_env,
        temperature=temperature,
        max_tokens=max_tokens,
        timeout=settings.OPENCLAW_MODEL_TIMEOUT if timeout is None else timeout,
        idle_timeout=(
            settings.OPENCLAW_STREAM_IDLE_TIMEOUT if idle_timeout is None else idle_timeout
        ),
        api_version=settings.AZURE_OPENAI_API_VERSION if provider.api == "azure" else "",
        reasoning_effort=reasoning_effort,
    )


def check_configured(call: ModelSettings) -> Provider:
    """The call's provider; raises a `model_not_configured` error naming what to set, before
    any network call."""
    if problem := check_model_id(call.model):
        raise ModelError("model_not_configured", f"Model id {call.model!r}: {problem}")
    provider, _ = split(call.model)
    if provider is BARE:  # an empty id too: the checks of every OpenAI-compatible call
        llm.check_configured(call)
        return provider
    if provider.api == "azure" and not call.base_url:
        raise ModelError(
            "model_not_configured",
            "No Azure endpoint: set AZURE_OPENAI_ENDPOINT (https://<resource>.openai.azure.com).",
        )
    if provider.needs_key and not call.api_key:
        raise ModelError(
            "model_not_configured",
            f"No API key for {provider.label}: set {call.api_key_env or provider.key_env}.",
        )
    return provider
