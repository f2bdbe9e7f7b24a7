"""How Telegram updates reach the gateway: long polling (getUpdates) by default, or, when
TELEGRAM_WEBHOOK_URL is set, registering our webhook (the view is gateway/webhooks/telegram.py).
"""

import asyncio
import itertools
import logging
from typing import Any

from django.conf import settings
from django.urls import reverse

from gateway.adapters.base import AdapterError
from gateway.adapters.telegram_api import ALLOWED_UPDATES, BotApi
from gateway.adapters.telegram_updates import BotIdentity, parse_update
from gateway.connections import PlatformConnection, State
from gateway.platforms import Listener

logger = logging.getLogger(__name__)

MAX_BACKOFF = 60.0
PERMANENT_RETRY_SECONDS = 300.0  # a bad token stays bad until the operator fixes it
MAX_ATTEMPTS_PER_UPDATE = 5  # then the update is skipped, so one poison update cannot stall a bot


def _api(conn: PlatformConnection) -> BotApi:
    """The Bot API client of the connection's (Telegram) adapter."""
    api = getattr(conn.adapter, "api", None)
    if not isinstance(api, BotApi):
        raise TypeError(f"{conn.adapter!r} is not a Telegram adapter")
    return api


async def _failed(conn: PlatformConnection, error: AdapterError, failures: int) -> None:
    """Show the error, then wait: as told by a 429, exponentially, or long for a permanent one."""
    state: State = "failing" if error.permanent or failures >= 3 else "reconnecting"
    await conn.set_state(state, str(error))
    delay = error.retry_after or min(2.0 ** (failures - 1), MAX_BACKOFF)
    await asyncio.sleep(PERMANENT_RETRY_SECONDS if error.permanent else delay)


async def poll(conn: PlatformConnection) -> None:
    """Long polling until cancelled. The offset moves past an update only after
    `receive_inbound` returned (it is journaled), so a crash before that redelivers it and the
    journal drops the copy."""
    api = _api(conn)
    await conn.set_state("connecting")
    offset: int | None = None
    failures, webhook_cleared, healthy = 0, False, False
    stuck: tuple[int, int] = (-1, 0)  # (update id, failed attempts)
    while True:
        try:
            bot = await api.identity()
            if not webhook_cleared:  # getUpdates answers 409 while a webhook is set
                await api.call("deleteWebhook", {})
                webhook_cleared = True
            updates = await api.get_updates(offset, settings.TELEGRAM_POLL_TIMEOUT)
        except AdapterError as error:
            failures, healthy = failures + 1, False
            # Someone set a webhook since: getUpdates refuses until it is deleted again.
            webhook_cleared = webhook_cleared and "webhook is active" not in str(error)
            await _failed(conn, error, failures)
            continue
        if not healthy:
            await conn.set_state("connected")
            failures, healthy = 0, True
        for update in updates:
            update_id = update["update_id"]
            try:
                await _deliver(conn, update, bot)
            except Exception as exc:
                attempts = stuck[1] + 1 if stuck[0] == update_id else 1
                stuck = (update_id, attempts)
                logger.exception("Telegram update %s failed (attempt %d)", update_id, attempts)
                if attempts < MAX_ATTEMPTS_PER_UPDATE:
                    await conn.set_state("reconnecting", f"update {update_id}: {exc!r}"[:300])
                    healthy = False
                    await asyncio.sleep(min(2.0**attempts, MAX_BACKOFF))
                    break  # the next getUpdates starts again from this update
                logger.error("Skipping Telegram update %s after %d attempts", update_id, attempts)
            offset = update_id + 1


async def _deliver(conn: PlatformConnection, update: dict[str, Any], bot: BotIdentity) -> None:
    message = parse_update(update, conn.account_id, bot)
    if message is None:
        return
    try:
        await conn.receive_inbound(message)
    except AdapterError as error:  # journaled already; only an immediate reply failed
        logger.warning("Telegram reply to %s failed: %s", message.message_id, error)


def webhook_url(account_id: str) -> str:
    """Where Telegram posts this account's updates: TELEGRAM_WEBHOOK_URL (the gateway's public
    base URL) + /webhooks/telegram/[<account_id>/]."""
    base = str(settings.TELEGRAM_WEBHOOK_URL).rstrip("/")
    default = reverse("telegram-webhook")
    base = base.removesuffix(default.rstrip("/"))  # tolerate a URL given with the path
    if account_id == "default":
        return base + default
    return base + reverse("telegram-webhook-account", args=[account_id])


async def register_webhook(conn: PlatformConnection) -> None:
    """Webhook mode: tell Telegram where to post (with our secret token) once, then return."""
    api = _api(conn)
    secret = conn.secret("webhook_secret")
    if not secret:
        await conn.set_state("failing", "webhook mode needs TELEGRAM_WEBHOOK_SECRET")
        return
    await conn.set_state("connecting")
    url = webhook_url(conn.account_id)
    payload = {"url": url, "secret_token": secret, "allowed_updates": ALLOWED_UPDATES}
    for failures in itertools.count(1):
        try:
            await api.identity()
            await api.call("setWebhook", payload)
        except AdapterError as error:
            await _failed(conn, error, failures)
            continue
        await conn.set_state("connected")
        return


def listener(conn: PlatformConnection) -> Listener | None:
    """Webhook registration when TELEGRAM_WEBHOOK_URL is set, else long polling."""
    return (
        (lambda: register_webhook(conn)) if settings.TELEGRAM_WEBHOOK_URL else (lambda: poll(conn))
    )
