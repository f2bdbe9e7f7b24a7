"""The vector side of hybrid memory search: every chunk of an agent that has a vector, scored
against the query in one matrix product, over the whole index (no newest-N window).

The matrix lives in this process per agent, for the model it searched with last, and is
rebuilt only when the agent's chunks or the model's vectors changed, which one aggregate query
tells (chunk ids only grow: a re-indexed file gets new rows; vectors are only ever added).
Chunks are few per agent (ten years of daily logs are ~40,000), so a float32 scan stays within
the search budget on SQLite and PostgreSQL alike; PostgreSQL's pgvector is not needed for it.
"""

import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from django.db import connection

from memory.models import ChunkEmbedding, MemoryChunk


@dataclass(frozen=True, slots=True)
class _Matrix:
    version: tuple[int, ...]
    ids: npt.NDArray[np.int64]
    vectors: npt.NDArray[np.float32]  # one unit-length row per chunk


_cache: dict[tuple[int, str, int], _Matrix] = {}
_lock = threading.Lock()


def _version(agent_id: int, model: str) -> tuple[int, ...]:
    chunks, vectors = MemoryChunk._meta.db_table, ChunkEmbedding._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT COUNT(*) FROM {chunks} WHERE agent_id = %s), "  # noqa: S608
            f"(SELECT MAX(id) FROM {chunks} WHERE agent_id = %s), "
            f"(SELECT MAX(id) FROM {vectors} WHERE model = %s)",
            [agent_id, agent_id, model],
        )
        row = cursor.fetchone()
    return tuple(int(value or 0) for value in row or ())


def _load(agent_id: int, model: str, dims: int, version: tuple[int, ...]) -> _Matrix:
    chunks, vectors = MemoryChunk._meta.db_table, ChunkEmbedding._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.id, e.vector FROM {chunks} c JOIN {vectors} e "  # noqa: S608
            "ON e.text_hash = c.text_hash AND e.model = %s AND e.dims = %s "
            "WHERE c.agent_id = %s ORDER BY c.id",
            [model, dims, agent_id],
        )
        rows = cursor.fetchall()
    ids = np.fromiter((int(cid) for cid, _ in rows), dtype=np.int64, count=len(rows))
    matrix = np.frombuffer(b"".join(bytes(blob) for _, blob in rows), dtype="<f4")
    return _Matrix(version, ids, matrix.reshape(len(rows), dims))


def nearest(
    agent_id: int, model: str, query: npt.NDArray[np.float32], limit: int
) -> dict[int, float]:
    """chunk id → cosine similarity for the agent's `limit` chunks most similar to `query`
    (a unit-length vector), best first. Blocking (ORM): call it where search runs."""
    dims = int(query.shape[0])
    key = (agent_id, model, dims)
    version = _version(agent_id, model)
    matrix = _cache.get(key)
    if matrix is None or matrix.version != version:
        matrix = _load(agent_id, model, dims, version)
        with _lock:
            # One matrix per agent: the one of the model it searches with now (a model changed
            # in the settings would otherwise keep its old matrices for the process's life).
            for stale in [k for k in _cache if k[0] == agent_id and k != key]:
                del _cache[stale]
            _cache[key] = matrix
    if not len(matrix.ids) or limit <= 0:
        return {}
    scores = matrix.vectors @ query
    if len(scores) > limit:
        top = np.argpartition(scores, -limit)[-limit:]
    else:
        top = np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return {int(matrix.ids[i]): float(scores[i]) for i in top}
