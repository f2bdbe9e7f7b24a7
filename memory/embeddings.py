"""Optional vectors for hybrid search: chunk embeddings cached per (model, text hash), and the
cosine scores of an agent's chunks against a query vector. Off unless OPENCLAW_EMBEDDINGS_MODEL."""

import logging
import math
from array import array
from collections.abc import Sequence

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import IntegrityError, connection, transaction

from agents.llm import ModelError, ModelSettings
from agents.llm_embeddings import embed
from memory.models import ChunkEmbedding, MemoryChunk

logger = logging.getLogger(__name__)

BATCH = 64
SCAN_LIMIT = 2_000  # newest chunks scored per query: the cosine is pure Python


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
    """chunk id → cosine similarity, for the `limit` most similar of the agent's newest
    `SCAN_LIMIT` chunks (MEMORY.md first, then daily logs newest first) that have a vector."""
    config = embedding_settings()
    if config is None:
        return {}
    query = unpack(pack(query_vector))
    chunks, vectors = MemoryChunk._meta.db_table, ChunkEmbedding._meta.db_table
    with connection.cursor() as cursor:
        # Newest chunks first, then their vectors: sorting after the join would read every
        # vector of the agent.
        cursor.execute(
            f"SELECT c.id, e.vector FROM (SELECT id, text_hash FROM {chunks} "  # noqa: S608
            "WHERE agent_id = %s ORDER BY date DESC NULLS FIRST, id LIMIT %s) c "
            f"JOIN {vectors} e ON e.text_hash = c.text_hash AND e.model = %s AND e.dims = %s",
            [agent_id, SCAN_LIMIT, config.model, len(query)],
        )
        scored = [(math.sumprod(query, unpack(blob)), int(cid)) for cid, blob in cursor]
    scored.sort(reverse=True)
    return {cid: score for score, cid in scored[:limit]}
