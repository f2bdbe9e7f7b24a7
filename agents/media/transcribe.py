"""Voice notes and audio to text through an OpenAI-compatible `/v1/audio/transcriptions`
(OPENCLAW_TRANSCRIBE_MODEL: a model id like the chat models', e.g. `openai/whisper-1` or a
bare `whisper-1`; its base URL and key are the provider's, as for chat). Off when unset."""

import logging
from pathlib import Path

from django.conf import settings

from agents.llm import ModelError
from agents.llm_clients import Clients
from agents.llm_errors import translate
from agents.media.types import Media
from agents.providers import call_settings, check_configured, split
from openclaw.perf import offload

logger = logging.getLogger(__name__)

_clients = Clients()


def enabled() -> bool:
    return bool(settings.OPENCLAW_TRANSCRIBE_MODEL)


async def transcribe(media: Media, path: Path) -> str:
    """The transcript of a stored audio file. Raises `ModelError` (its message says what to
    fix) when the service refuses or cannot be reached; never called when `enabled()` is
    False."""
    call = call_settings(settings.OPENCLAW_TRANSCRIBE_MODEL)
    provider = check_configured(call)
    _, name = split(call.model)
    data: bytes = await offload.files(path.read_bytes)
    filename = media.name or Path(media.path).name
    if not Path(filename).suffix:
        filename += Path(media.path).suffix
    try:
        client = await _clients.openai(provider.api, call)
        result = await client.audio.transcriptions.create(
            model=name, file=(filename, data, media.mime), response_format="json"
        )
    except ModelError:
        raise
    except Exception as exc:  # the SDK's errors, translated as for chat calls
        raise translate(exc, call) from exc
    return str(getattr(result, "text", "") or "").strip()
