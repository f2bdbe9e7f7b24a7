"""What the model reads of a stored attachment, worked out once when it arrives and kept in the
user message (so later turns read the same words without redoing the work):

- an image: a note naming it (the image itself goes to the model as a content part in the turn
  it arrives in, when the agent's `image_input` allows: `agents.media.parts`);
- voice and audio: the transcript, marked as one (when OPENCLAW_TRANSCRIBE_MODEL is set);
- text-like documents (txt, md, csv, json, PDF): their text, within OPENCLAW_MEDIA_TEXT_CHARS;
- anything else: a note with its path, type and size, so the agent can use `read_media`.

Every section is untrusted data inside the user message, never part of the system prompt."""

import logging

from django.conf import settings

from agents.llm import ModelError
from agents.media import transcribe
from agents.media.extract import extract_text, extractable
from agents.media.store import resolve
from agents.media.types import Media
from openclaw.perf import offload

logger = logging.getLogger(__name__)


async def describe(media: Media) -> str:
    """The section of the user message that stands for `media` (see the module docstring).
    Never raises for the file's content: a failure becomes a note saying what went wrong."""
    label = media.label()
    if media.kind == "image":
        return f"[Image: {label}]"
    if media.kind == "audio":
        return await _audio(media, label)
    if extractable(media.mime):
        try:
            text = await offload.files(_document_text, media)
        except (ValueError, OSError) as error:
            return f"[Document: {label}; its text could not be read: {error}]"
        return f"[Document: {label}; its text follows]\n{text}\n[End of {media.name or 'document'}]"
    noun = "Video" if media.kind == "video" else "File"
    return f"[{noun}: {label}. Not shown to you; read_media tells more about it.]"


async def _audio(media: Media, label: str) -> str:
    if not transcribe.enabled():
        return f"[Audio: {label}. Not transcribed: no transcription model is configured.]"
    try:
        text = await transcribe.transcribe(media, await offload.files(resolve, media.path))
    except (ModelError, ValueError, OSError) as error:
        logger.warning("Transcribing %s failed: %s", media.path, error)
        return f"[Audio: {label}. Transcription failed: {error}]"
    return f"[Voice transcript of {label}, transcribed automatically]\n{text or '(silence)'}"


def _document_text(media: Media) -> str:
    return extract_text(resolve(media.path), media.mime, settings.OPENCLAW_MEDIA_TEXT_CHARS)


def compose(text: str, sections: list[str]) -> str:
    """The user message: the caption or text first, then one section per attachment."""
    return "\n\n".join(part for part in (text.strip(), *sections) if part)
