"""The media store: the only code that writes media files. Files land in
`OPENCLAW_HOME/media/<agent>/<yyyy-mm-dd>/<generated>.<ext>` (UTC date; the name is random and
the extension comes from the detected type; the sender's file name is never part of a path).

Contract for every caller (platform adapters' downloads, the web chat's uploads, tools):

- `check_declared(size, name)` refuses a file whose declared size is over the cap before any
  byte is fetched.
- `store_stream(agent, chunks, ...)` writes an async stream of bytes, stopping as soon as the
  cap is passed; then the content's type is detected and checked against the claim, and an
  image's header is checked for a decompression bomb. It returns a `Media` reference, or
  raises `MediaRefused` (nothing is left on disk then). `store_bytes` / `store_file` do the
  same from memory or a local file (synchronous: call them in a worker thread).
- `resolve(path)` turns a `Media.path` back into a real path inside the media folder (or its
  archive, see `retention`); anything else raises `ValueError`, a missing file
  `FileNotFoundError`.

The cap is OPENCLAW_MAX_ATTACHMENT_BYTES; images above OPENCLAW_MAX_IMAGE_PIXELS are refused.
"""

import hashlib
import os
import re
import secrets
from collections.abc import AsyncIterable
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.utils import timezone

from agents.media.detect import check, check_image, detect
from agents.media.types import Media, MediaRefused, human_size
from openclaw.perf import offload

MEDIA_DIR = "media"
ARCHIVE_DIR = "archive"
FLUSH_BYTES = 1024 * 1024  # a stream is written in pieces of about this size
_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")


def media_root() -> Path:
    return Path(settings.OPENCLAW_HOME) / MEDIA_DIR


def cap() -> int:
    return int(settings.OPENCLAW_MAX_ATTACHMENT_BYTES)


def shown_name(name: str) -> str:
    """How a file is named in messages: its display name (one line, short), or "The file"."""
    clean = " ".join(name.split())[:80]
    return f"“{clean}”" if clean else "The file"


def too_large(name: str, size: int | None = None) -> MediaRefused:
    limit = human_size(cap())
    what = f"is {human_size(size)}" if size is not None else "is larger than that"
    return MediaRefused(
        f"{shown_name(name)} {what}; the limit is {limit}. I did not take it.",
        reason="too_large",
    )


def check_declared(size: int | None, name: str = "") -> None:
    """Refuse before downloading when the platform already says the file is over the cap."""
    if size is not None and size > cap():
        raise too_large(name, size)


class _Writer:
    """One file being written: a hidden temp file in its day folder, hashed as it grows."""

    def __init__(self, agent_slug: str) -> None:
        if not _SLUG.fullmatch(agent_slug):
            raise ValueError(f"not an agent slug: {agent_slug!r}")
        day = timezone.now().date().isoformat()
        self.folder = media_root() / agent_slug / day
        self.relative = f"{MEDIA_DIR}/{agent_slug}/{day}"
        self.stem = secrets.token_hex(10)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.temp = self.folder / f".{self.stem}.part"
        self.fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]
        self.digest.update(data)
        self.size += len(data)

    def abort(self) -> None:
        os.close(self.fd)
        self.temp.unlink(missing_ok=True)

    def finish(self, name: str, claimed_mime: str) -> Media:
        os.close(self.fd)
        clean = " ".join(PurePosixPath(name.replace("\\", "/")).name.split())[:200]
        try:
            shown = shown_name(clean)
            if self.size == 0:
                raise MediaRefused(f"{shown} is empty.", reason="unreadable")
            detected = detect(self.temp, clean)
            check(detected, claimed_mime, clean, shown)
            if detected.kind == "image":
                check_image(self.temp, settings.OPENCLAW_MAX_IMAGE_PIXELS, shown)
            final = f"{self.stem}{detected.extension}"
            os.replace(self.temp, self.folder / final)
        except BaseException:
            self.temp.unlink(missing_ok=True)
            raise
        return Media(
            path=f"{self.relative}/{final}",
            mime=detected.mime,
            kind=detected.kind,
            size=self.size,
            sha256=self.digest.hexdigest(),
            name=clean,
        )


async def store_stream(
    agent_slug: str,
    chunks: AsyncIterable[bytes],
    *,
    name: str = "",
    claimed_mime: str = "",
    declared_size: int | None = None,
) -> Media:
    """Store a stream for `agent_slug` (see the module's contract). Raises `MediaRefused`;
    an exception from `chunks` itself (a failed download) propagates, nothing kept."""
    check_declared(declared_size, name)
    limit = cap()
    writer = await offload.files(_Writer, agent_slug)
    pending: list[bytes] = []
    buffered = 0
    try:
        async for chunk in chunks:
            if writer.size + buffered + len(chunk) > limit:
                raise too_large(name)
            pending.append(chunk)
            buffered += len(chunk)
            if buffered >= FLUSH_BYTES:
                data, pending, buffered = b"".join(pending), [], 0
                await offload.files(writer.write, data)
        if pending:
            await offload.files(writer.write, b"".join(pending))
    except BaseException:
        await offload.files(writer.abort)
        raise
    media: Media = await offload.files(writer.finish, name, claimed_mime)
    return media


def store_bytes(agent_slug: str, data: bytes, *, name: str = "", claimed_mime: str = "") -> Media:
    """Store bytes held in memory (synchronous; see the module's contract)."""
    if len(data) > cap():
        raise too_large(name, len(data))
    writer = _Writer(agent_slug)
    try:
        writer.write(data)
    except BaseException:
        writer.abort()
        raise
    return writer.finish(name, claimed_mime)


def store_file(agent_slug: str, source: Path, *, name: str = "") -> Media:
    """Store a copy of a local file (synchronous): what the agent sends is kept as sent."""
    size = source.stat().st_size
    if size > cap():
        raise too_large(name or source.name, size)
    writer = _Writer(agent_slug)
    try:
        with open(source, "rb") as handle:
            while block := handle.read(FLUSH_BYTES):
                writer.write(block)
                if writer.size > cap():
                    raise too_large(name or source.name)
    except BaseException:
        writer.abort()
        raise
    return writer.finish(name or source.name, "")


def resolve(path: str) -> Path:
    """The real file a `Media.path` names: under OPENCLAW_HOME/media, or, once retention moved
    its day folder, under OPENCLAW_HOME/archive/media. Raises `ValueError` for a path outside
    them (absolute, `..`, a symlink leading out) and `FileNotFoundError` when it is gone."""
    parts = PurePosixPath(path).parts
    if not path or "\x00" in path or PurePosixPath(path).is_absolute():
        raise ValueError(f"{path!r} is not a media path (media/<agent>/<date>/<file>).")
    if len(parts) < 2 or parts[0] != MEDIA_DIR or ".." in parts:
        raise ValueError(f"{path!r} is not a media path (media/<agent>/<date>/<file>).")
    home = Path(settings.OPENCLAW_HOME)
    for root in (home / MEDIA_DIR, home / ARCHIVE_DIR / MEDIA_DIR):
        real = Path(os.path.realpath(root / Path(*parts[1:])))
        inside = str(real).startswith(os.path.realpath(root) + os.sep)
        if not inside:
            raise ValueError(f"{path!r} leads outside the media folder.")
        if real.is_file():
            return real
    raise FileNotFoundError(f"{path} is no longer stored.")
