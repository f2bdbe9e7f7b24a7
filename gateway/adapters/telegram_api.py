"""The Telegram Bot API client: JSON POSTs over httpx to <TELEGRAM_API_URL>/bot<token>/<method>,
multipart uploads (sendPhoto, sendDocument, sendVoice) and file downloads from
<TELEGRAM_API_URL>/file/bot<token>/<file_path>, with failures mapped to `AdapterError`. The only
Telegram code that talks HTTP.
"""

import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
from django.conf import settings

from gateway.adapters.base import AdapterError, FormattingRejected
from gateway.adapters.telegram_updates import BotIdentity

API_TIMEOUT = 15.0
FILE_TIMEOUT = 120.0  # a whole upload or download of up to the attachment cap
ALLOWED_UPDATES = ["message"]  # edited messages, channel posts, callbacks: not for us
BOT_PATH = re.compile(r"/bot[^/\s]+/")


def _mask_token(record: logging.LogRecord) -> bool:
    """httpx logs every request URL at INFO, and Bot API URLs carry the token."""
    if isinstance(record.args, tuple):
        masked = (
            BOT_PATH.sub("/bot[redacted]/", str(a)) if "/bot" in str(a) else a for a in record.args
        )
        record.args = tuple(masked)
    return True


logging.getLogger("httpx").addFilter(_mask_token)


class BotApi:
    """One bot token's Bot API. `call` returns the answer's `result` or raises `AdapterError`
    (429 → retry_after; 400/401/403/404 → permanent; network, 409, 5xx → transient), or
    `FormattingRejected` for a 400 "can't parse entities". Errors never carry the token."""

    _client: httpx.AsyncClient | None = None  # made on first use, inside the running loop
    _bot: BotIdentity | None = None

    def __init__(self, token: str) -> None:
        self.token = token

    async def call(self, method: str, payload: dict[str, Any], *, wait: float = API_TIMEOUT) -> Any:
        return await self._post(method, wait, json=payload)

    async def upload(
        self, method: str, fields: dict[str, Any], field: str, file: tuple[str, bytes, str]
    ) -> Any:
        """A multipart call sending one file as `field` ((name, bytes, mime)); errors as `call`."""
        data = {k: str(v) for k, v in fields.items()}
        return await self._post(method, FILE_TIMEOUT, data=data, files={field: file})

    async def _post(self, method: str, wait: float, **content: Any) -> Any:
        """POST one Bot API method (JSON or multipart `content`); its `result` or the error."""
        url = f"{settings.TELEGRAM_API_URL.rstrip('/')}/bot{self.token}/{method}"
        try:
            response = await self._http().post(url, timeout=wait, **content)
        except httpx.HTTPError as exc:
            # The exception's text may carry the URL, and with it the token: keep only the kind.
            raise AdapterError(f"{method}: {type(exc).__name__}", permanent=False) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("ok"):
            return body.get("result")
        raise _api_error(method, response.status_code, body if isinstance(body, dict) else {})

    async def download(self, file_id: str) -> AsyncIterator[bytes]:
        """A file's bytes in chunks: getFile for its path, then GET /file/bot<token>/<path>.
        Telegram serves bots files up to 20 MB; a bigger one fails getFile (permanent)."""
        info = await self.call("getFile", {"file_id": file_id})
        file_path = info.get("file_path") if isinstance(info, dict) else None
        if not isinstance(file_path, str) or not file_path:
            raise AdapterError("getFile: no file_path in the answer", permanent=True)
        url = f"{settings.TELEGRAM_API_URL.rstrip('/')}/file/bot{self.token}/{file_path}"
        try:
            async with self._http().stream("GET", url, timeout=FILE_TIMEOUT) as response:
                if response.status_code != 200:
                    status = response.status_code
                    permanent = status in (400, 401, 403, 404)
                    raise AdapterError(f"file download: HTTP {status}", permanent=permanent)
                async for chunk in response.aiter_bytes():
                    yield chunk
        except httpx.HTTPError as exc:
            raise AdapterError(f"file download: {type(exc).__name__}", permanent=False) from None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=API_TIMEOUT)
        return self._client

    async def identity(self) -> BotIdentity:
        """Who the bot is, from getMe once, then remembered."""
        if self._bot is None:
            me = await self.call("getMe", {})
            self._bot = BotIdentity(int(me["id"]), str(me.get("username") or ""))
        return self._bot

    async def get_updates(self, offset: int | None, hold: int) -> list[dict[str, Any]]:
        """Long-poll for up to `hold` seconds; only well-formed updates (with an int id) return."""
        payload: dict[str, Any] = {"timeout": hold, "allowed_updates": ALLOWED_UPDATES}
        if offset is not None:
            payload["offset"] = offset
        result = await self.call("getUpdates", payload, wait=hold + API_TIMEOUT)
        updates = result if isinstance(result, list) else []
        return [u for u in updates if isinstance(u, dict) and isinstance(u.get("update_id"), int)]

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _api_error(method: str, status: int, body: dict[str, Any]) -> AdapterError:
    description = str(body.get("description") or f"HTTP {status}")
    code = body.get("error_code") if isinstance(body.get("error_code"), int) else status
    message = f"{method}: {description}"
    if code == 429:
        parameters = body.get("parameters") or {}
        retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
        return AdapterError(message, permanent=False, retry_after=float(retry_after or 1))
    if code == 400 and "can't parse entities" in description.lower():
        return FormattingRejected(message)
    # 400 (chat not found, bad request), 401 (bad token), 403 (blocked), 404 (no such token)
    # fail the same way every time; 409 (another poller, a webhook) and 5xx may pass later.
    return AdapterError(message, permanent=code in (400, 401, 403, 404))
