"""Slack files both ways: the `files` of a message event as `Attachment`s, their download from
`url_private_download` / `url_private` with the bot token, and the external upload flow
(`files.getUploadURLExternal`, the bytes POSTed to the returned URL,
`files.completeUploadExternal` into the channel and thread with the caption as its comment).
"""

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from django.conf import settings

from gateway.adapters.base import AdapterError
from gateway.messages import Attachment

CHUNK = 64 * 1024
FILE_TIMEOUT = aiohttp.ClientTimeout(total=120.0, sock_connect=10.0)
UPLOAD_BYTES = 1024 * 1024 * 1024  # Slack's limit for one file: 1 GB
CAPTION_CHARS = 3000  # an initial comment is a message; keep it readable, as text replies are
# File modes that are not a stored file we could download (a link to Google Drive, a deleted
# file's tombstone): shown to the model as nothing, and the sender hears it was not taken.
NOT_DOWNLOADABLE = frozenset({"external", "tombstone", "hidden_by_limit"})


def attachments_of(event: Mapping[str, Any]) -> tuple[Attachment, ...]:
    """The event's files that can be downloaded, each with its download URL as `ref`; the
    name, MIME type and size are Slack's claims (the store checks them)."""
    found: list[Attachment] = []
    files = event.get("files")
    for item in files if isinstance(files, list) else ():
        if not isinstance(item, Mapping) or str(item.get("mode") or "") in NOT_DOWNLOADABLE:
            continue
        url = item.get("url_private_download") or item.get("url_private")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            continue
        size = item.get("size")
        name = item.get("name") or item.get("title") or "file"
        found.append(
            Attachment(
                ref=url,
                name=str(name),
                mime=str(item.get("mimetype") or ""),
                size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                kind=str(item.get("filetype") or "file"),
            )
        )
    return tuple(found)


def may_carry_token(url: str) -> bool:
    """Whether the bot token may go with a request to `url`: Slack's own hosts over HTTPS (or
    the host SLACK_API_URL names, which tests point at a fake). A URL in an event is Slack's,
    but the token must never leave for anywhere else even if one is not."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    api = urlsplit(settings.SLACK_API_URL)
    if host and host == (api.hostname or "").lower() and parts.scheme == api.scheme:
        return True
    return parts.scheme == "https" and (host == "slack.com" or host.endswith(".slack.com"))


class SlackFiles:
    """One bot token's file transfers over an aiohttp session made on first use (inside the
    running loop). Failures are `AdapterError`s; errors never carry the token."""

    _session: aiohttp.ClientSession | None = None

    def __init__(self, token: str) -> None:
        self.token = token

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=FILE_TIMEOUT)
        return self._session

    async def download(self, url: str) -> AsyncIterator[bytes]:
        """The file at `url` in chunks, fetched with the bot token in the Authorization header.
        Slack answers a request without a valid token with its sign-in page (HTML, 200): that
        is a failed download, not a file."""
        if not may_carry_token(url):
            raise AdapterError("Slack file URL is not on a Slack host", permanent=True)
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            async with self._http().get(url, headers=headers, allow_redirects=True) as response:
                if response.status != 200:
                    permanent = response.status in (400, 401, 403, 404, 410)
                    error = f"Slack file download: HTTP {response.status}"
                    raise AdapterError(error, permanent=permanent)
                if response.content_type == "text/html":
                    raise AdapterError("Slack file download: a sign-in page", permanent=True)
                async for chunk in response.content.iter_chunked(CHUNK):
                    yield chunk
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"Slack file download: {type(exc).__name__}"
            raise AdapterError(error, permanent=False) from None

    async def put(self, upload_url: str, data: bytes, name: str, mime: str) -> None:
        """POST the bytes to the URL files.getUploadURLExternal returned (a multipart form
        with one `file` field, as Slack's own SDKs send it)."""
        form = aiohttp.FormData()
        form.add_field("file", data, filename=name, content_type=mime or "application/octet-stream")
        try:
            async with self._http().post(upload_url, data=form) as response:
                if response.status >= 300:
                    permanent = 400 <= response.status < 500 and response.status != 429
                    error = f"Slack file upload: HTTP {response.status}"
                    raise AdapterError(error, permanent=permanent)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise AdapterError(
                f"Slack file upload: {type(exc).__name__}", permanent=False
            ) from None

    async def close(self) -> None:
        if self._session is not None:
            with contextlib.suppress(Exception):
                await self._session.close()
            self._session = None
