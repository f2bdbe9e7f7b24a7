"""Optional vectors for hybrid search: chunk embeddings cached per (model, text hash), and the
cosine scores of an agent's chunks against a query vector. Off unless OPENCLAW_EMBEDDINGS_MODEL:
an OpenAI-compatible `/v1/embeddings` model, or `local/wordllama` embedded in this process."""

import asyncio
import logging
import math
from array import array
from collections.abc import Sequence

import numpy as np
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import IntegrityError, transaction

from agents.llm import ModelError, ModelSettings
from agents.llm_embeddings import embed as embed_remote
from memory import local_embeddings, vector_index
from memory.models import ChunkEmbedding, MemoryChunk

logger = logging.getLogger(__name__)

BATCH = 64


def embedding_settings() -> ModelSettings | None:
    """The embeddings endpoint, or None when hybrid search is off."""
    if not settings.OPENCLAW_EMBEDDINGS_MODEL:
        return None
    key_env = settings.OPENCLAW_EMBEDDINGS_API_KEY_ENV
    return ModelSettings(
        model=settings.OPENCLAW_EMBEDDINGS_MODEL,
        base_url=settings.OPENCLAW_EMBEDDINGS_BASE_URL or settings.OPENAI_BASE_URL,
        api_key=settings.OPENCLAW_PROVIDER_KEYS.get(key_env, ""),
        api_key_env=key_env,
        timeout=settings.OPENCLAW_MODEL_TIMEOUT,
    )


async def embed(texts: Sequence[str], config: ModelSettings) -> list[list[float]]:
    """One vector per text from the configured model; raises ModelError."""
    if local_embeddings.is_local(config.model):
        return await asyncio.to_thread(local_embeddings.embed, texts, config.model)
    return await embed_remote(texts, config)


# The vector score's share where bench scenario (h) measured it (LoCoMo development set: 0.05
# to 0.15 all gain 1.3 to 1.7 points of recall@6 over keywords alone, 0.35 and more lose);
# other models keep an even split until measured.
MEASURED_WEIGHTS = {"local/wordllama": 0.1}
DEFAULT_WEIGHT = 0.5


def vector_weight() -> float:
    """The vector score's share in hybrid ranking, 0..1: OPENCLAW_MEMORY_VECTOR_WEIGHT, else
    the configured model's measured default."""
    chosen = settings.OPENCLAW_MEMORY_VECTOR_WEIGHT
    if chosen is None:
        chosen = MEASURED_WEIGHTS.get(settings.OPENCLAW_EMBEDDINGS_MODEL, DEFAULT_WEIGHT)
    return min(1.0, max(0.0, chosen))


def pack(vector: Sequence[float]) -> bytes:
    """Unit-length float32 bytes, so a dot product is the cosine."""
    norm = math.sqrt(math.sumprod(vector, vector)) or 1.0
    return array("f", [v / norm for v in vector]).tobytes()


def unpack(data: bytes | memoryview) -> array[float]:
    vector = array("f")
    vector.frombytes(bytes(data))
    return vector


async def embed_query(text: str) -> list[float] | None:
    """The query's vector, or None when embeddings are off or the endpoint fails (search then
    falls back to keywords only; a broken embeddings server must not break memory_search)."""
    config = embedding_settings()
    if config is None or not text.strip():
        return None
    try:
        return (await embed([text], config))[0]
    except ModelError as error:
        logger.warning("Query embedding failed, keyword search only: %s", error)
        return None


def _pending(model: str, agent_slug: str | None, limit: int) -> dict[str, str]:
    """text hash → text of chunks that have no embedding for `model` yet."""
    chunks = MemoryChunk.objects.exclude(
        text_hash__in=ChunkEmbedding.objects.filter(model=model).values("text_hash")
    )
    if agent_slug:
        chunks = chunks.filter(agent__slug=agent_slug)
    pending: dict[str, str] = {}
    for text_hash, text in chunks.values_list("text_hash", "text")[: limit * 2]:
        pending.setdefault(text_hash, text)
        if len(pending) >= limit:
            break
    return pending


def _store(model: str, hashes: Sequence[str], vectors: Sequence[Sequence[float]]) -> None:
    for text_hash, vector in zip(hashes, vectors, strict=True):
        try:
            with transaction.atomic():
                ChunkEmbedding.objects.get_or_create(
                    model=model,
                    text_hash=text_hash,
                    defaults={"dims": len(vector), "vector": pack(vector)},
                )
        except IntegrityError:  # stored meanwhile by another embedder: theirs is the same
            continue


async def embed_pending(agent_slug: str | None = None, max_chunks: int = 2_000) -> int:
    """Embed up to `max_chunks` chunks that lack a vector; returns how many were stored.
    Safe to run twice; a failing endpoint is logged and retried on the next call."""
    config = embedding_settings()
    if config is None:
        return 0
    pending = await database_sync_to_async(_pending)(config.model, agent_slug, max_chunks)
    items = list(pending.items())
    done = 0
    for start in range(0, len(items), BATCH):
        batch = items[start : start + BATCH]
        try:
            vectors = await embed([text for _, text in batch], config)
        except ModelError as error:
            logger.warning("Embedding memory chunks failed, will retry: %s", error)
            break
        await database_sync_to_async(_store)(config.model, [h for h, _ in batch], vectors)
        done += len(batch)
    return done


def vector_scores(agent_id: int, query_vector: Sequence[float], limit: int) -> dict[int, float]:
    """chunk id → cosine similarity, for the `limit` chunks of the agent (its whole index) most
    similar to the query; {} when embeddings are off."""
    config = embedding_settings()
    if config is None:
        return {}
    query = np.frombuffer(pack(query_vector), dtype=np.float32)
    return vector_index.nearest(agent_id, config.model, query, limit)
