"""Secret redaction: a logging filter (installed in settings.LOGGING) and `redact_text` for any
other output, masking the values of configured keys and tokens wherever they appear."""

import functools
import logging
import re
from typing import Any
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.signals import setting_changed

MASK = "[redacted]"
# Shorter values would mask ordinary words; real keys and tokens are far longer.
MIN_SECRET_CHARS = 6
PLATFORM_PREFIXES = ("SLACK_", "TELEGRAM_", "WHATSAPP_")
SECRET_SUFFIXES = ("TOKEN", "SECRET", "KEY", "PASSWORD")
BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")


def _url_password(url: str) -> str:
    try:
        return urlsplit(url).password or ""
    except ValueError:
        return ""


def secret_values() -> list[str]:
    """Every configured secret value, longest first (so a secret containing another is masked
    whole)."""
    if not settings.configured:
        return []
    return list(_secret_values())


@functools.cache
def _secret_values() -> tuple[str, ...]:
    values: set[str] = set(getattr(settings, "OPENCLAW_PROVIDER_KEYS", {}).values())
    values.add(getattr(settings, "OPENCLAW_GATEWAY_TOKEN", ""))
    values.add(getattr(settings, "OPENCLAW_HOOKS_TOKEN", ""))
    values.add(getattr(settings, "SECRET_KEY", ""))
    # Platform credentials live in the environment, collected by the settings by variable name.
    channel_env: dict[str, str] = getattr(settings, "OPENCLAW_CHANNEL_ENV", {})
    for name, value in channel_env.items():
        if name.startswith(PLATFORM_PREFIXES) and name.endswith(SECRET_SUFFIXES):
            values.add(value)
    for database in getattr(settings, "DATABASES", {}).values():
        values.add(str(database.get("PASSWORD") or ""))
    for url_setting in ("REDIS_URL", "CELERY_BROKER_URL"):
        values.add(_url_password(str(getattr(settings, url_setting, "") or "")))
    found = {v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_CHARS}
    found |= {quote(v, safe="") for v in found}  # as it would appear in a URL
    return tuple(sorted(found, key=len, reverse=True))


def _forget_secrets(**kwargs: Any) -> None:
    _secret_values.cache_clear()  # settings changed (override_settings in tests)


setting_changed.connect(_forget_secrets, dispatch_uid="openclaw.redact")


def redact_text(text: str, secrets: list[str] | None = None) -> str:
    """`text` with every secret value and bearer credential masked."""
    for value in secret_values() if secrets is None else secrets:
        if value in text:
            text = text.replace(value, MASK)
    return BEARER.sub(r"\1" + MASK, text)


class RedactSecretsFilter(logging.Filter):
    """Masks secrets in the message, its arguments, the traceback and the stack of every record
    (the record is rewritten in place, so every later handler sees the masked text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = secret_values()
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep what we can show
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact_text(message, secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info, secrets)
        return True
