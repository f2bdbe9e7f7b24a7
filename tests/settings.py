"""Test settings: a fresh temporary OPENCLAW_HOME, then the real settings."""

import os
import tempfile

os.environ["OPENCLAW_HOME"] = tempfile.mkdtemp(prefix="openclaw-test-")
os.environ.setdefault("OPENCLAW_GATEWAY_TOKEN", "test-gateway-token")
# All token-holding test sockets share one chat.send budget (kept in Redis across tests when
# REDIS_URL is set): make it roomy; tests/security sets a small one where it is under test.
os.environ.setdefault("OPENCLAW_WS_RATE_LIMIT", "100000/minute")
os.environ["OPENCLAW_ENV_FILE"] = os.devnull

from openclaw.settings import *  # noqa: F403

# A file (not an in-memory) test database, so concurrency tests see real SQLite locking.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(OPENCLAW_HOME / "test.sqlite3")}  # noqa: F405
