"""The interface every platform adapter implements, and text splitting they all share.

An adapter turns platform payloads into `InboundMessage`s and sends, edits and shows typing on
its platform; it downloads the files that came with a message (`fetch`) and uploads the files an
answer sends (`send_file`). Every failure leaves as `AdapterError`, whose `permanent` flag tells
the caller whether retrying can help (bad token, chat not found, a file the platform refuses:
no; 5xx, network: yes).
"""

import asyncio
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, ClassVar

from agents.media.outbound import OutgoingFile
from gateway.messages import Attachment, ReplyTarget

logger = logging.getLogger(__name__)
FENCE = re.compile(r"^(\s*)(```+|~~~+)(.*)$")


class AdapterError(Exception):
    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class FormattingRejected(AdapterError):
    """The platform refused our formatting; the caller resends as plain text."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


def read_outgoing(file: OutgoingFile, limit: int, too_big: str) -> bytes:
    """Blocking (call it through `offload.files`): the bytes of a file an answer sends, at most
    `limit` of them; over it, `too_big` as a permanent AdapterError, and a file gone since the
    answer named it (retention moved it, it was deleted) fails for good too."""
    try:
        if file.path.stat().st_size > limit:
            raise AdapterError(too_big, permanent=True)
        return file.path.read_bytes()
    except OSError as exc:
        message = f"{file.name} cannot be read: {exc.strerror or exc}"
        raise AdapterError(message, permanent=True) from None


class Adapter(ABC):
    """One account on one platform. Methods are async and MAY raise `AdapterError`; `send`
    returns the platform's id of the new message (used by `edit`). Implementations MUST NOT
    log secrets and MUST format with `render` (our Markdown → the platform's)."""

    channel: ClassVar[str]
    max_chars: ClassVar[int]
    can_edit: ClassVar[bool] = False

    def __init__(self, account_id: str, credentials: Mapping[str, str], options: Mapping[str, Any]):
        self.account_id = account_id
        self.credentials = dict(credentials)
        self.options = dict(options)

    @abstractmethod
    async def send(self, target: ReplyTarget, text: str, *, formatted: bool = True) -> str: ...

    async def edit(
        self, target: ReplyTarget, message_id: str, text: str, *, formatted: bool = True
    ) -> None:
        raise AdapterError(f"{self.channel} cannot edit messages", permanent=True)

    async def fetch(self, attachment: Attachment) -> AsyncIterator[bytes]:
        """Download an attachment of a message this adapter parsed, as an async iterator of
        byte chunks (the media store counts them against the cap and stops reading when it is
        passed, so implementations MUST stream, not buffer the whole file). MAY raise
        `AdapterError` before or between chunks. Idempotent: a resume after a crash fetches
        again. Platforms without files keep this default, which refuses."""
        raise AdapterError(f"{self.channel} cannot download files", permanent=True)
        yield b""  # pragma: no cover  # makes this an async generator

    async def send_file(self, target: ReplyTarget, file: OutgoingFile) -> str:
        """Upload one file to `target` with its caption, as the platform's photo, voice or
        document message by `file.kind`/`file.mime`, and return the new message's id. NOT
        idempotent: the caller journals each file it delivered (as it does text chunks) so
        a restart does not send it again. Raises `AdapterError`: permanent for what retrying
        cannot fix (too large for the platform, a type it refuses, chat gone), transient for
        the network, 429 (with `retry_after`) and 5xx."""
        raise AdapterError(f"{self.channel} cannot send files", permanent=True)

    async def typing(self, target: ReplyTarget) -> None:  # noqa: B027  # optional hook
        """Show that an answer is coming; a no-op where the platform has no such thing."""

    async def close(self) -> None:  # noqa: B027  # optional hook
        """Release connections."""

    def split(self, text: str) -> list[str]:
        return split_text(text, self.max_chars)


async def with_retries[T](
    call: Callable[[], Awaitable[T]], *, attempts: int = 4, base_delay: float = 0.5
) -> T:
    """Retry transient `AdapterError`s, honouring `retry_after`; permanent ones go up at once."""
    for attempt in range(attempts):
        try:
            return await call()
        except AdapterError as error:
            if error.permanent or attempt == attempts - 1:
                raise
            delay = error.retry_after if error.retry_after is not None else base_delay * 2**attempt
            logger.info("Platform call failed (%s); retrying in %.1f s", error, delay)
            await asyncio.sleep(min(delay, 60.0))
    raise AssertionError("unreachable")  # pragma: no cover


def split_text(text: str, limit: int) -> list[str]:
    """Split Markdown into chunks of at most `limit` characters: at paragraph, then line, then
    word boundaries; a code fence cut in two is closed and reopened so both halves render."""
    if len(text) <= limit:
        return [text] if text else []
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    fence: str | None = None  # the opening fence line while inside a code block

    def flush() -> None:
        nonlocal current, size
        if not current:
            return
        body = "".join(current).rstrip("\n")
        if fence is not None:
            body += "\n" + _closing(fence)
        if body.strip():
            chunks.append(body)
        current, size = ([fence + "\n"], len(fence) + 1) if fence is not None else ([], 0)

    reserve = 0
    for line in _lines(text, limit // 2):
        match = FENCE.match(line.rstrip("\n"))
        reserve = len(_closing(fence)) + 1 if fence is not None else 0
        if size + len(line) + reserve > limit and current:
            flush()
        current.append(line)
        size += len(line)
        if match:
            fence = None if fence is not None else line.rstrip("\n")
    if fence is not None:
        fence = None  # the text itself left the block open: keep it as it was
    flush()
    return chunks


def _closing(fence_line: str) -> str:
    match = FENCE.match(fence_line)
    return match.group(2) if match else "```"


def _lines(text: str, longest: int) -> list[str]:
    """Lines of `text` (newlines kept), with any line longer than `longest` cut at spaces."""
    out: list[str] = []
    for line in text.splitlines(keepends=True):
        while len(line) > longest:
            cut = line.rfind(" ", 0, longest)
            cut = cut + 1 if cut > 0 else longest
            out.append(line[:cut])
            line = line[cut:]
        out.append(line)
    return out
