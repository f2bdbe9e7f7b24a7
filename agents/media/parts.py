"""Images as model input: the current turn's images (the message they came with, and those the
model asked to see with `read_media`) are loaded as data URLs at model-call time, beside the
transcript read; earlier turns keep only their notes. Transcripts never hold image bytes.

`with_images(entries)` returns the entries with copies of those entries carrying
`meta.image_parts` (what `agents.context` turns into content parts). Blocking: it runs in the
file thread with the transcript read (`agents.turn_inputs.write_and_read`)."""

import base64
import logging
import re
from collections.abc import Sequence
from typing import Any

from agents.media.detect import MODEL_IMAGES, detect
from agents.media.store import resolve
from agents.media.types import Media
from agents.transcripts import Entry

logger = logging.getLogger(__name__)

READ_MEDIA = "read_media"
# The first words of read_media's answer for an image the model will see (its path follows).
SHOWN = "Showing the image"
_SHOWN_PATH = re.compile(re.escape(SHOWN) + r" (media/\S+)")
# The largest image sent as a part: Anthropic's limit (OpenAI takes 20 MB). A bigger one is
# left to its note, so it cannot fail the whole call.
MODEL_IMAGE_BYTES = 5 * 1024 * 1024


def with_images(entries: list[Entry]) -> list[Entry]:
    """`entries`, the current run's images loaded (see the module docstring); the same list,
    not a copy, when the run has none."""
    run = _current_run(entries)
    if not run:
        return entries
    out: list[Entry] | None = None
    for index, entry in enumerate(entries):
        if entry.get("run") != run:
            continue
        parts = _parts(entry)
        if not parts:
            continue
        if out is None:
            out = list(entries)
        meta = {**entry.get("meta", {}), "image_parts": parts}
        out[index] = {**entry, "meta": meta}
    return entries if out is None else out


def _current_run(entries: Sequence[Entry]) -> str:
    for entry in reversed(entries):
        if entry["type"] == "message" and entry.get("role") == "user":
            return str(entry.get("run") or "")
    return ""


def _parts(entry: Entry) -> list[dict[str, Any]]:
    meta = entry.get("meta", {})
    if entry["type"] == "message" and entry.get("role") == "user":
        if not meta.get("image_input"):
            return []  # the agent's image_input is off, or no image came
        found = [Media.from_dict(m) for m in meta.get("media", ())]
        return [p for m in found if m is not None and (p := _part(m.path, m.mime))]
    if entry["type"] == "tool_result" and meta.get("name") == READ_MEDIA and meta.get("ok"):
        shown = _SHOWN_PATH.match(entry.get("content", ""))
        if shown:
            part = _part(shown[1], "")
            return [part] if part else []
    return []


def _part(path: str, mime: str) -> dict[str, Any] | None:
    """An OpenAI `image_url` content part with the file as a data URL; None for what a model
    does not take as an image (a type it does not read, over MODEL_IMAGE_BYTES), or a file
    gone since."""
    try:
        real = resolve(path)
        mime = mime or detect(real).mime
        if mime not in MODEL_IMAGES or real.stat().st_size > MODEL_IMAGE_BYTES:
            return None
        data = real.read_bytes()
    except (ValueError, OSError) as error:
        logger.info("Image %s not shown to the model: %s", path, error)
        return None
    encoded = base64.b64encode(data).decode("ascii")
    return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{encoded}"}}
