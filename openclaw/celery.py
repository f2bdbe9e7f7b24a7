"""The Celery app, configured from Django settings (`CELERY_*`). Only for work that may be late."""

import os

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openclaw.settings")
TRANSPORT_ALIASES["openclawfs"] = "openclaw.broker:Transport"

app = Celery("openclaw")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
