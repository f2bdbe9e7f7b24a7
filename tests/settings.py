"""Test settings: a fresh temporary OPENCLAW_HOME, then the real settings."""

import os
import tempfile
from urllib.parse import urlsplit, urlunsplit

os.environ["OPENCLAW_HOME"] = tempfile.mkdtemp(prefix="openclaw-test-")
os.environ.setdefault("OPENCLAW_GATEWAY_TOKEN", "test-gateway-token")
# All token-holding test sockets share one chat.send budget (kept in Redis across tests when
# REDIS_URL is set): make it roomy; tests/security sets a small one where it is under test.
os.environ.setdefault("OPENCLAW_WS_RATE_LIMIT", "100000/minute")
os.environ["OPENCLAW_ENV_FILE"] = os.devnull
# Parallel runs (pytest-xdist): each worker gets a Redis database of its own, so one worker's
# Celery worker, channel layer or rate limits never see another's (children inherit it).
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and os.environ.get("REDIS_URL"):
    _url = urlsplit(os.environ["REDIS_URL"])
    os.environ["REDIS_URL"] = urlunsplit(_url._replace(path=f"/{1 + int(_worker[2:]) % 15}"))

from openclaw.settings import *  # noqa: E402, F403  # the environment above comes first

# A file (not an in-memory) test database, so concurrency tests see real SQLite locking.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(OPENCLAW_HOME / "test.sqlite3")}  # noqa: F405
