"""Telegram webhook (POST /webhooks/telegram/[<account_id>/]): secret token → parse → journal → 200.

Telegram retries anything but a 2xx, so a 503 asks for redelivery; the journal drops copies.
"""

import hmac
import json
import logging

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from gateway import connections
from gateway.adapters.base import AdapterError
from gateway.adapters.telegram import TelegramAdapter
from gateway.adapters.telegram_updates import parse_update
from gateway.connections import PlatformConnection
from gateway.state import runtime
from gateway.webhooks import body_too_large

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105  # a header name


def _answer(status: int, text: str) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain")


def _authorised(request: HttpRequest, conn: PlatformConnection) -> bool:
    expected = conn.secret("webhook_secret")
    given = request.headers.get(SECRET_HEADER, "")
    # No configured secret means no webhook: fail closed rather than accept anyone.
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


async def _route(conn: PlatformConnection, adapter: TelegramAdapter, body: bytes) -> HttpResponse:
    try:
        update = json.loads(body)
    except (ValueError, RecursionError):  # nested past the parser's depth: malformed
        return _answer(400, "malformed JSON")
    if not isinstance(update, dict):
        return _answer(400, "not an update")
    try:
        bot = await adapter.identity()
    except AdapterError as error:
        logger.warning("Telegram webhook deferred: %s", error)
        return _answer(503, "try again")
    try:
        message = parse_update(update, conn.account_id, bot)
    except (TypeError, ValueError, KeyError, AttributeError):
        return _answer(400, "malformed update")
    if message is None:
        return _answer(200, "ok")
    try:
        await conn.receive_inbound(message)
    except AdapterError as error:  # journaled already; only an immediate reply failed
        logger.warning("Telegram webhook reply failed: %s", error)
    except Exception:
        logger.exception("Telegram webhook update failed")
        return _answer(503, "try again")
    return _answer(200, "ok")


@csrf_exempt
@require_POST
async def update(request: HttpRequest, account_id: str = "default") -> HttpResponse:
    conn = connections.running("telegram", account_id)
    if conn is None:
        running = runtime.state == "running"
        return _answer(404, "unknown account") if running else _answer(503, "not running")
    if not isinstance(conn.adapter, TelegramAdapter) or not _authorised(request, conn):
        return _answer(401, "bad secret token")
    if body_too_large(request):
        return _answer(413, "too large")
    return await _route(conn, conn.adapter, request.body)


urlpatterns = [
    path("", update, name="telegram-webhook"),
    path("<str:account_id>/", update, name="telegram-webhook-account"),
]
