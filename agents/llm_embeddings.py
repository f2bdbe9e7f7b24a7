"""Embeddings from any OpenAI-compatible `/v1/embeddings`, through the openai SDK (this module is
its only importer; off the turn's path), imported at the first call in a worker thread. Every
failure leaves as a `ModelError`, as chat calls' do."""

import asyncio
import logging
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agents import llm_clients
from agents.llm import ModelError, ModelSettings, check_configured
from agents.llm_errors import translate

if TYPE_CHECKING:
    from openai import AsyncOpenAI

logger = logging.getLogger(__name__)


class _Embedder:
    """One cached `openai.AsyncOpenAI` per provider settings, all on one event loop."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str, float], AsyncOpenAI] = {}

    async def _client(self, settings: ModelSettings) -> "AsyncOpenAI":
        key = (settings.base_url, settings.api_key, settings.timeout)
        client = self._clients.get(key)
        if client is None:
            await llm_clients.load("openai")
            from openai import AsyncOpenAI

            client = AsyncOpenAI(
                # Local servers (Ollama, vLLM, LM Studio) need no key, but the SDK refuses none.
                api_key=settings.api_key or "no-key-configured",
                base_url=settings.base_url or None,
                timeout=settings.timeout,
                # Retries are ours (agents.failover), so one budget covers every failure.
                max_retries=0,
            )
            self._clients[key] = client
        return client

    async def embed(self, texts: Sequence[str], settings: ModelSettings) -> list[list[float]]:
        """One vector per text, in order, from the provider's `/v1/embeddings`."""
        check_configured(settings)
        if not texts:
            return []
        try:
            client = await self._client(settings)
            response = await client.embeddings.create(
                model=settings.model, input=list(texts), encoding_format="float"
            )
            vectors = [list(d.embedding) for d in sorted(response.data, key=lambda d: d.index)]
        except Exception as exc:  # SDK, transport and parse errors all end here, translated
            logger.debug("Embeddings call failed", exc_info=True)
            raise translate(exc, settings) from exc
        if len(vectors) != len(texts):
            raise ModelError(
                "model_error",
                f"The embeddings API returned {len(vectors)} vectors for {len(texts)} texts.",
            )
        return vectors


# A client's connection pool belongs to the event loop that made it, so `embed` keeps one client
# cache per loop (the gateway has one; tests and commands make more).
_embedders: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Embedder] = (
    weakref.WeakKeyDictionary()
)


async def embed(texts: Sequence[str], settings: ModelSettings) -> list[list[float]]:
    """Embeddings from an OpenAI-compatible endpoint (`settings.model` is the embedding model).
    Raises `ModelError` like chat calls do."""
    loop = asyncio.get_running_loop()
    embedder = _embedders.get(loop)
    if embedder is None:
        embedder = _embedders[loop] = _Embedder()
    return await embedder.embed(texts, settings)
