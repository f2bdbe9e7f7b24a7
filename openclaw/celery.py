"""The Celery app, configured from Django settings (`CELERY_*`). Only for work that may be late."""

import asyncio
import logging
import os

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

from openclaw import heartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openclaw.settings")
TRANSPORT_ALIASES["openclawfs"] = "openclaw.broker:Transport"

logger = logging.getLogger(__name__)

app = Celery("openclaw")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Workers record a heartbeat (its signal handlers and beat's heartbeat task live there).
app.conf.beat_schedule = heartbeat.BEAT_SCHEDULE


def check_broker(timeout: float, url: str | None = None) -> str | None:
    """None when the broker (default: the configured one) accepts a connection within `timeout`
    seconds, else why not.

    Blocking (call it from a thread in async code); one attempt, no retries. The reason is one line
    and never contains the broker URL's password.
    """
    connection = app.connection_for_write(url)
    connection.connect_timeout = timeout
    try:
        connection.ensure_connection(max_retries=0)
        channel = connection.default_channel
        folder = getattr(channel, "data_folder_out", None)
        if isinstance(folder, str) and not os.access(folder, os.W_OK | os.X_OK):
            return f"broker folder {folder} is not writable"
    except Exception as exc:  # any failure means "unreachable"; the reason is reported
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return f"{connection.as_uri()}: {reason}"
    finally:
        connection.release()
    return None


class BrokerWatch:
    """The gateway's view of the broker, for /readyz. Informational only: the gateway never
    depends on Celery. A change of reachability is logged once, not per check."""

    def __init__(self) -> None:
        self.state = "unknown"  # "ok" | "unreachable" once checked
        self.error = ""
        self.checks = 0

    def record(self, reason: str | None) -> None:
        self.checks += 1
        if reason is None:
            if self.state == "unreachable":
                logger.warning("Celery broker reachable again")
            self.state, self.error = "ok", ""
            return
        if self.state != "unreachable":
            logger.warning(
                "Celery broker unreachable (%s): nightly curation and maintenance wait until "
                "it is back; chat is not affected",
                reason,
            )
        self.state, self.error = "unreachable", reason

    async def watch(self, interval: float, check_seconds: float = 5.0) -> None:
        """Check now, then every `interval` seconds (blocking checks run in a thread)."""
        while True:
            self.record(await asyncio.to_thread(check_broker, check_seconds))
            await asyncio.sleep(interval)

    def report(self) -> dict[str, str | int]:
        return {"state": self.state, "error": self.error, "checks": self.checks}
