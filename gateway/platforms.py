"""Which platforms exist, and building one connection per enabled channel account.

Each adapter module defines `PLATFORM`; it is imported only when an account of its platform
exists, so an SDK that is not used costs nothing at start.
"""

import importlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from django.conf import settings

from agents.services import ensure_default_agent
from gateway.adapters.base import Adapter
from gateway.connections import PlatformConnection
from gateway.models import ChannelAccount

logger = logging.getLogger(__name__)

Listener = Callable[[], Awaitable[None]]
MODULES = {
    "slack": "gateway.adapters.slack",
    "telegram": "gateway.adapters.telegram",
    "whatsapp": "gateway.adapters.whatsapp",
}
# Default accounts from the conventional variables: role → variable, the first one required.
DEFAULTS: dict[str, dict[str, str]] = {
    "slack": {
        "bot_token": "SLACK_BOT_TOKEN",
        "app_token": "SLACK_APP_TOKEN",
        "signing_secret": "SLACK_SIGNING_SECRET",
    },
    "telegram": {"bot_token": "TELEGRAM_BOT_TOKEN", "webhook_secret": "TELEGRAM_WEBHOOK_SECRET"},
    "whatsapp": {
        "access_token": "WHATSAPP_ACCESS_TOKEN",
        "app_secret": "WHATSAPP_APP_SECRET",
        "verify_token": "WHATSAPP_VERIFY_TOKEN",
    },
}


@dataclass(frozen=True, slots=True)
class Platform:
    """`required`: credential roles without which the account is disabled. `listener(conn)`:
    the long-lived inbound side (Socket Mode, long polling) as a coroutine function, or None
    when this account takes webhooks. A listener MUST run until cancelled, reconnect by
    itself with backoff, and report its state with `conn.set_state`."""

    channel: str
    adapter: type[Adapter]
    required: tuple[str, ...]
    listener: Callable[[PlatformConnection], Listener | None]


def platform(channel: str) -> Platform:
    module = importlib.import_module(MODULES[channel])
    found: Platform = module.PLATFORM
    return found


def ensure_default_accounts() -> None:
    """An account named `default` per platform whose conventional token variable is set; an
    existing `default` account also takes the conventional variables set since it was created
    (a newly set SLACK_APP_TOKEN turns on Socket Mode at the next start), never replacing a
    variable name an admin chose."""
    env = settings.OPENCLAW_CHANNEL_ENV
    for channel, roles in DEFAULTS.items():
        first = next(iter(roles.values()))
        existing = ChannelAccount.objects.filter(channel=channel)
        default = existing.filter(account_id="default").first()
        if default is not None:
            _take_new_credentials(default, roles, env)
        if first not in env or existing.exists():
            continue
        options = {}
        if channel == "whatsapp" and settings.WHATSAPP_PHONE_NUMBER_ID:
            options["phone_number_id"] = settings.WHATSAPP_PHONE_NUMBER_ID
        ChannelAccount.objects.create(
            channel=channel,
            account_id="default",
            name=f"{channel} (from the environment)",
            agent=ensure_default_agent(),
            credentials={role: var for role, var in roles.items() if var in env},
            options=options,
        )
        logger.info("Created the default %s account from %s", channel, first)


def _take_new_credentials(
    account: ChannelAccount, roles: dict[str, str], env: dict[str, str]
) -> None:
    credentials = dict(account.credentials or {})
    added = {role: var for role, var in roles.items() if var in env and role not in credentials}
    if added:
        account.credentials = {**credentials, **added}
        account.save(update_fields=["credentials"])
        logger.info("%s now uses %s", account, ", ".join(sorted(added.values())))


def build_connections() -> list[tuple[PlatformConnection, Platform]]:
    """One connection per enabled account whose credentials are set; the others are disabled
    with a log line naming what to set."""
    ensure_default_accounts()
    built = []
    env = settings.OPENCLAW_CHANNEL_ENV
    for account in ChannelAccount.objects.filter(enabled=True).exclude(channel="web"):
        try:
            spec = platform(account.channel)
        except (KeyError, ImportError) as exc:
            logger.error("No adapter for %s: %s", account, exc)
            continue
        secrets = {role: env.get(var, "") for role, var in (account.credentials or {}).items()}
        missing = [role for role in spec.required if not secrets.get(role)]
        if missing:
            names = [account.credentials.get(role, "?") for role in missing]
            message = f"disabled: set {', '.join(names)} ({', '.join(missing)})"
            logger.warning("%s %s", account, message)
            ChannelAccount.objects.filter(pk=account.pk).update(
                connection_state="disabled", last_error=message
            )
            continue
        adapter = spec.adapter(account.account_id, secrets, account.options or {})
        built.append((PlatformConnection(adapter, secrets), spec))
    return built
