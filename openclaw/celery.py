"""The Celery app, configured from Django settings (`CELERY_*`). Only for work that may be late."""

import os

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openclaw.settings")
TRANSPORT_ALIASES["openclawfs"] = "openclaw.broker:Transport"

app = Celery("openclaw")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def check_broker(timeout: float) -> str | None:
    """None when the configured broker accepts a connection within `timeout` seconds, else why not.

    Blocking (call it from a thread in async code); one attempt, no retries. The reason is one line
    and never contains the broker URL's password.
    """
    connection = app.connection_for_write()
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
