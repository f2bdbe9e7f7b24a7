"""Files in the web chat: an upload is stored for one session (the media store: same cap, type
by content) and remembered until `chat.send` takes it; a stored file is shown only to a client
of a session that references it (its upload, or its transcript naming the path).

Who the client is (the gateway token, or a staff user with the session permissions) is checked
by the views; this module answers which files belong to which session.
"""

import threading
from collections import OrderedDict
from pathlib import Path, PurePosixPath

from django.core.files.uploadedfile import UploadedFile

from agents import services
from agents.media.detect import detect
from agents.media.prepare import compose, describe
from agents.media.store import check_declared, resolve, store_bytes
from agents.media.types import Media, MediaRefused
from agents.services import NotFound
from gateway.media_inbound import image_mode

MAX_PENDING = 1024  # uploads not yet sent, across sessions; the oldest is forgotten first
MAX_FILES_PER_MESSAGE = 10
# Served inline (shown in an <img>): raster images only. An SVG can carry script, and text or
# HTML could be rendered by a browser opening the URL: everything else is a download.
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})

_pending: OrderedDict[str, tuple[str, Media]] = OrderedDict()  # path → (session key, media)
_lock = threading.Lock()


class UnknownUpload(Exception):
    """`chat.send` named a file that was not uploaded for its session (or long forgotten)."""


def session_agent(session_key: str) -> str:
    """The agent slug of a session key (`agent:<slug>:...`); raises NotFound for a key that
    names none or an unknown or disabled agent (blocking: the ORM)."""
    slug = services.agent_slug_of(session_key)
    if slug is None:
        raise NotFound(f"{session_key!r} is not a session key.")
    return services.get_agent(slug).slug


def store_upload(session_key: str, upload: UploadedFile) -> Media:
    """Store an uploaded file for the session's agent and remember it for that session.
    Raises `MediaRefused` (its message is for the user) or NotFound. Blocking."""
    agent = session_agent(session_key)
    name = PurePosixPath(str(upload.name or "file").replace("\\", "/")).name  # a display name
    check_declared(upload.size, name)
    media = store_bytes(agent, upload.read(), name=name, claimed_mime=upload.content_type or "")
    with _lock:
        _pending[media.path] = (session_key, media)
        while len(_pending) > MAX_PENDING:
            _pending.popitem(last=False)
    return media


def take(session_key: str, paths: list[str]) -> list[Media]:
    """The uploads `paths` names, each uploaded for `session_key` (they stay known, so a
    resent `chat.send` finds them again and the journal answers it as a duplicate). Raises
    `UnknownUpload`."""
    taken: list[Media] = []
    with _lock:
        for path in paths:
            found = _pending.get(path)
            if found is None or found[0] != session_key:
                raise UnknownUpload("A file was not uploaded for this session; attach it again.")
            taken.append(found[1])
    return taken


async def turn_text(text: str, media: list[Media]) -> str:
    """The user message for a text with files: the text, then one section per file, as for a
    platform message (`agents.media.prepare`)."""
    return compose(text, [await describe(m) for m in media])


def image_input_for(session_key: str, media: list[Media]) -> str:
    """The agent's image mode when the message carries an image, else "" (blocking: the ORM)."""
    if not any(m.kind == "image" for m in media):
        return ""
    mode = image_mode(session_agent(session_key))
    return "" if mode == "off" else mode


def may_see(session_key: str, path: str) -> bool:
    """Whether `path` belongs to the session: pending for it, or named in its transcript (a
    sent upload's `meta.media`, a `send_file` result). The path must be under the session's
    agent's media folder either way. Blocking: reads the transcript."""
    parts = PurePosixPath(path).parts
    try:
        agent = session_agent(session_key)
    except NotFound:
        return False
    if len(parts) < 3 or parts[0] != "media" or parts[1] != agent:
        return False
    with _lock:
        pending = _pending.get(path)
    if pending is not None:
        return pending[0] == session_key
    try:
        transcript = Path(services.find_session(session_key).transcript)
        return _mentions(transcript, path)
    except (NotFound, OSError):
        return False


def _mentions(transcript: Path, path: str) -> bool:
    needle = path.encode()
    with transcript.open("rb") as lines:
        return any(needle in line for line in lines)


def served(path: str) -> tuple[Path, str, bool]:
    """(the real file, the Content-Type to serve it with, whether inline) for a media path;
    raises ValueError or FileNotFoundError (`store.resolve`). The type is detected from the
    content again, never taken from a name. Blocking."""
    real = resolve(path)
    mime = detect(real).mime
    inline = mime in INLINE_TYPES
    return real, mime if inline else "application/octet-stream", inline


__all__ = ["MAX_FILES_PER_MESSAGE", "MediaRefused", "UnknownUpload"]
