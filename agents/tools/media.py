"""Media tools: `send_file` sends a workspace or media file with the answer, `read_media` looks
at a stored file again (an image is shown to the model in the next call; a document's text, an
audio file's transcript or a file's details come back as text).

Paths are confined: `send_file` takes a workspace path (`resolve_in_workspace`) or one of this
agent's `media/<agent>/...` paths; `read_media` only the latter. A workspace file is copied into
the media store first (typed by content, within the attachment cap), so what goes out is what
was checked, and a delivery resumed after a restart sends the same bytes."""

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from django.conf import settings

from agents.llm import ModelError
from agents.media import transcribe
from agents.media.detect import detect
from agents.media.extract import extract_text, extractable
from agents.media.outbound import QUEUED, SEND_FILE
from agents.media.parts import READ_MEDIA, SHOWN
from agents.media.store import resolve, store_file
from agents.media.types import Media, MediaRefused
from agents.tools.base import Tool, ToolContext, ToolError
from agents.tools.common import int_arg, str_arg
from agents.tools.files import resolve_shareable

CAPTION_CHARS = 1000


def _own_media(ctx: ToolContext, path: str) -> Path:
    """The real file of one of this agent's media paths; ToolError otherwise. Below the owner,
    only a file this session was given (see `_seen`): never another chat's."""
    if not path.startswith(f"media/{ctx.agent.slug}/"):
        raise ToolError(
            f"{path!r} is not one of this agent's media files (media/{ctx.agent.slug}/…)."
        )
    if ctx.trust != "owner" and not _seen(Path(ctx.session.transcript), path):
        raise ToolError(f"{path} did not come up in this chat: only its own files are available.")
    try:
        return resolve(path)
    except ValueError as error:
        raise ToolError(str(error)) from None
    except FileNotFoundError:
        raise ToolError(f"{path} is no longer stored.") from None


def _seen(transcript: Path, path: str) -> bool:
    """Whether this session was given `path`: a file that came with one of its messages
    (`meta.media`), or one a successful `send_file` of it stored. A model's own tool calls
    and refusals name paths too, and prove nothing."""
    whole = re.compile(r"(?<![\w./-])" + re.escape(path) + r"(?![\w./-])")
    try:
        with transcript.open("rb") as lines:
            for line in lines:
                if path.encode() not in line:
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(entry, dict):
                    continue
                meta = entry.get("meta") or {}
                if entry.get("role") == "user" and whole.search(json.dumps(meta.get("media", []))):
                    return True
                content = entry.get("content")
                if (
                    entry.get("type") == "tool_result"
                    and meta.get("name") == SEND_FILE
                    and meta.get("ok")
                    and isinstance(content, str)
                    and content.startswith(QUEUED)
                    and whole.search(content)
                ):
                    return True
    except OSError:
        return False
    return False


def _described(media: Media) -> str:
    return f"({media.name or Path(media.path).name}, {media.mime}, {media.size:,} bytes)"


class SendFileTool:
    name = SEND_FILE
    description = (
        "Send a file (workspace path, or a media/ path) to the chat with your answer, "
        "as a photo, voice note or document by its type."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {"path": {"type": "string"}, "caption": {"type": "string"}},
        "required": ["path"],
    }

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> str:
        path = str_arg(args, "path").strip()
        caption = str_arg(args, "caption", required=False)
        if len(caption) > CAPTION_CHARS:
            raise ToolError(f"caption is {len(caption)} characters; the limit is {CAPTION_CHARS}.")
        if path.startswith("media/"):
            real = await asyncio.to_thread(_own_media, ctx, path)
            media = await asyncio.to_thread(_typed_copy, ctx.agent.slug, real, keep=path)
        else:
            real = await asyncio.to_thread(_workspace_file, ctx, path)
            media = await asyncio.to_thread(_typed_copy, ctx.agent.slug, real)
        return f"{QUEUED} {media.path} {_described(media)} with your answer."


def _workspace_file(ctx: ToolContext, path: str) -> Path:
    real = resolve_shareable(ctx, path)
    if not real.is_file():
        raise ToolError(f"{path!r} is not a file in the workspace.")
    return real


def _typed_copy(agent_slug: str, real: Path, keep: str = "") -> Media:
    """A stored media file's reference, or a workspace file's checked copy in the store."""
    try:
        if keep:
            detected = detect(real)
            size = real.stat().st_size
            return Media(keep, detected.mime, detected.kind, size, "", real.name)
        return store_file(agent_slug, real, name=real.name)
    except MediaRefused as refused:
        raise ToolError(str(refused)) from None


class ReadMediaTool:
    name = READ_MEDIA
    description = (
        "Look at a stored media file by its media/ path: an image is shown to you, a "
        "document's text or an audio transcript is returned. offset: first character."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {"path": {"type": "string"}, "offset": {"type": "integer"}},
        "required": ["path"],
    }

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> str:
        path = str_arg(args, "path").strip()
        offset = int_arg(args, "offset", 0, low=0, high=10**9)
        real = await asyncio.to_thread(_own_media, ctx, path)
        media = await asyncio.to_thread(_typed_copy, ctx.agent.slug, real, path)
        if media.kind == "image":
            return f"{SHOWN} {path} {_described(media)}; it follows as an image."
        if extractable(media.mime):
            cap = settings.OPENCLAW_MEDIA_TEXT_CHARS
            try:
                text = await asyncio.to_thread(extract_text, real, media.mime, cap, offset)
            except ValueError as error:
                raise ToolError(f"{path}: {error}") from None
            return f"{path} {_described(media)}:\n{text}"
        if media.kind == "audio" and transcribe.enabled():
            try:
                return f"Transcript of {path}:\n{await transcribe.transcribe(media, real)}"
            except (ModelError, OSError) as error:  # its message says what failed
                raise ToolError(f"Transcription failed: {error}") from None
        return f"{path} {_described(media)}: no text or image to show; send_file can send it on."


def media_tools() -> list[Tool]:
    return [SendFileTool(), ReadMediaTool()]
