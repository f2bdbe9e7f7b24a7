"""An embedded, offline embedding model for hybrid memory search: `OPENCLAW_EMBEDDINGS_MODEL=
local/wordllama` embeds in this process with WordLlama's static token embeddings, whose weights
ship inside its PyPI package (the optional extra `openclaw[local-embeddings]`); nothing is
downloaded, ever. Its figures (start, memory, recall) are in bench/README.md."""

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents.llm import ModelError

PREFIX = "local/"
MODELS = ("wordllama",)
_lock = threading.Lock()
_loaded: dict[str, Any] = {}


def is_local(model: str) -> bool:
    return model.startswith(PREFIX)


def check(model: str) -> str:
    """Why `model` cannot embed here, or "" when it can (the extra is installed)."""
    name = model.removeprefix(PREFIX)
    if name not in MODELS:
        return f"unknown local embeddings model {name!r} (known: {', '.join(MODELS)})"
    try:
        import wordllama  # noqa: F401
    except ImportError:
        return "local/wordllama needs the optional extra: pip install 'openclaw[local-embeddings]'"
    return ""


def _model(model: str) -> Any:
    with _lock:
        if model not in _loaded:
            if problem := check(model):
                raise ModelError("embeddings_unavailable", problem)
            import wordllama

            # The package holds the weights and the tokenizer; downloads are refused, so a
            # missing file is an error instead of a request to the internet.
            _loaded[model] = wordllama.WordLlama.load(
                cache_dir=Path(wordllama.__file__).parent, disable_download=True
            )
        return _loaded[model]


def embed(texts: Sequence[str], model: str) -> list[list[float]]:
    """Blocking: one vector per text (call it from a worker thread)."""
    vectors = _model(model).embed(list(texts), norm=True)
    return [list(map(float, row)) for row in vectors]
