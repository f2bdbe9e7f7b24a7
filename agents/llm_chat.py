"""The gateway's `ChatModel`: each call goes to the SDK its model id's provider speaks
(`agents.providers`): Anthropic's Messages API, or OpenAI's chat completions (OpenAI, Azure and
every OpenAI-compatible server). Their clients share one cache, closed by `aclose()`."""

from collections.abc import AsyncIterator, Sequence
from typing import Any

from agents.llm import Message, ModelEvent, ModelSettings
from agents.llm_anthropic import AnthropicChatModel
from agents.llm_clients import Clients, load
from agents.llm_openai import OpenAIChatModel
from agents.providers import split


class ProviderChatModel:
    """`ChatModel` for every provider. `aclose()` SHOULD be awaited on each event loop that
    streamed, before it ends (a loop ended by `asyncio.run` closes its clients anyway)."""

    def __init__(self) -> None:
        self._clients = Clients()
        self._openai = OpenAIChatModel(self._clients)
        self._anthropic = AnthropicChatModel(self._clients)

    async def aclose(self) -> None:
        """Close the running loop's clients; later calls open new ones."""
        await self._clients.aclose()

    async def warm(self, model_id: str) -> None:
        """Import the SDK `model_id`'s provider speaks, in a worker thread, so that the first
        call does not wait for it (importing an SDK takes about a second of CPU)."""
        provider, _ = split(model_id)
        await load("anthropic" if provider.api == "anthropic" else "openai")

    def stream(
        self,
        messages: Sequence[Message],
        settings: ModelSettings,
        tools: Sequence[dict[str, Any]] | None = None,
    ) -> AsyncIterator[ModelEvent]:
        provider, _ = split(settings.model)
        model = self._anthropic if provider.api == "anthropic" else self._openai
        return model.stream(messages, settings, tools)
