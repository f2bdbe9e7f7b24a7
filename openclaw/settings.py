"""Django settings: the only module that reads the environment (django-environ, optional `.env`).

Every variable is listed with a one-line comment in `.env.example`.
"""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from openclaw.environment import Env, dotenv_path, public_url, state_secret
from openclaw.logging import logging_settings

django_stubs_ext.monkeypatch()  # lets admin and querysets be subscripted in annotations

BASE_DIR = Path(__file__).resolve().parent.parent


env = Env()
# OPENCLAW_ENV_FILE, else `.env` at the checkout's root, else (installed) in the current folder.
_dotenv = dotenv_path(os.environ.get("OPENCLAW_ENV_FILE", ""), BASE_DIR)
if _dotenv.is_file():
    env.read_env(str(_dotenv))
OPENCLAW_DOTENV_PATH = str(_dotenv) if _dotenv.is_file() else ""  # for doctor's file checks
# Secrets may live in a KEY=VALUE file outside the project (mode 0600); the environment wins.
OPENCLAW_SECRETS_FILE = env.str("OPENCLAW_SECRETS_FILE", default="")
if OPENCLAW_SECRETS_FILE:
    if not Path(OPENCLAW_SECRETS_FILE).is_file():
        raise ImproperlyConfigured(f"OPENCLAW_SECRETS_FILE={OPENCLAW_SECRETS_FILE} is not a file.")
    # An empty variable means "unset" (a copied .env.example's `OPENAI_API_KEY=`): the file's
    # value fills it in, where the read below would otherwise keep the empty one.
    for _name in [name for name, value in os.environ.items() if not value.strip()]:
        del os.environ[_name]
    env.read_env(OPENCLAW_SECRETS_FILE, overwrite=False)

OPENCLAW_HOME = Path(env.str("OPENCLAW_HOME", default="~/.openclaw")).expanduser().resolve()
OPENCLAW_HOME.mkdir(mode=0o700, parents=True, exist_ok=True)


DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or state_secret(
    OPENCLAW_HOME, "secret_key", 50
)
ALLOWED_HOSTS: list[str] = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"]
)
CSRF_TRUSTED_ORIGINS: list[str] = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "openclaw.apps.OpenclawAdminConfig",  # django.contrib.admin with the dashboard index
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_celery_beat",
    "axes",
    "openclaw.audit",
    "gateway",
    "agents",
    "agents.mcp.apps.MCPConfig",  # MCP servers as tool sources (app label `mcp`)
    "memory",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "openclaw.csp.ContentSecurityPolicyMiddleware",
    "axes.middleware.AxesMiddleware",  # last: it answers a locked-out login
]
# Login attempts go through django-axes first (throttling), then Django's own backend.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "openclaw.urls"
ASGI_APPLICATION = "openclaw.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The top-level templates/ (admin overrides, the chat page, the workspace files
        # agents.workspace copies), reached through the package's link to it, so an installed
        # wheel (where the link became a folder) finds them at the same place.
        "DIRS": [BASE_DIR / "openclaw" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite in the state directory by default, tuned so hundreds of coroutines never see
# "database is locked" (WAL, busy timeout, IMMEDIATE transactions; see STACK-NOTES).
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{OPENCLAW_HOME / 'openclaw.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
# Keep connections (unless the URL sets `?conn_max_age=`): every database call of the gateway
# runs in one thread, and a new connection per call (SQLite runs its PRAGMAs again, PostgreSQL
# authenticates again) costs more than the call. A server's dropped connection is replaced.
DATABASES["default"].setdefault("CONN_MAX_AGE", None)
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
CHANNEL_LAYERS: dict[str, Any]
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # group_expiry: a chat tab may stay open for weeks; disconnect removes it anyway.
            "CONFIG": {
                "hosts": [REDIS_URL],
                "capacity": 2000,
                "expiry": 60,
                "group_expiry": 365 * 86400,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "openclaw.perf.layers.GatewayInMemoryChannelLayer",
            "CONFIG": {"capacity": 2000, "expiry": 60, "group_expiry": 365 * 86400},
        }
    }

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "openclawfs://"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "data_folder_in": str(OPENCLAW_HOME / "broker" / "queue"),
    "data_folder_out": str(OPENCLAW_HOME / "broker" / "queue"),
    "control_folder": str(OPENCLAW_HOME / "broker" / "control"),
}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Nightly curation time (HH:MM, in each agent's time zone) of newly created schedules.
OPENCLAW_CURATION_TIME = env.str("OPENCLAW_CURATION_TIME", default="03:30")
# Sessions idle this many days are archived, with old delivered journal rows (0 = off).
OPENCLAW_RETENTION_DAYS = env.int("OPENCLAW_RETENTION_DAYS", default=90)
# Seconds between the gateway's broker reachability checks (informational, in /readyz).
OPENCLAW_BROKER_CHECK_SECONDS = env.float("OPENCLAW_BROKER_CHECK_SECONDS", default=300.0)
# `manage.py gateway` runs one Celery worker with beat as its child process (default: on with the
# filesystem broker, off with Redis, where workers usually run on their own).
OPENCLAW_WORKER = env.bool("OPENCLAW_WORKER", default=CELERY_BROKER_URL == "openclawfs://")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("OPENCLAW_TIMEZONE", default="UTC")
USE_I18N = True
USE_TZ = True
LOGIN_URL = "admin:login"

# Static files: `collectstatic` writes hashed, compressed copies to STATIC_ROOT (`make run` and
# the container image do); the gateway serves them with WhiteNoise (gateway/staticfiles.py),
# and a file not collected (yet) from its app's static/ folder.
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("OPENCLAW_STATIC_ROOT", default=str(OPENCLAW_HOME / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "gateway.staticfiles.GatewayStaticStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Behind a reverse proxy, the URL people use implies the host, the trusted origin and, on
# https://, the forwarded scheme, secure cookies, the redirect to https and HSTS.
OPENCLAW_PUBLIC_URL = env.str("OPENCLAW_PUBLIC_URL", default="")
_public = public_url(OPENCLAW_PUBLIC_URL)
if _public is not None:
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, *([_public.host] if _public.host not in ALLOWED_HOSTS else [])]
    CSRF_TRUSTED_ORIGINS = [*CSRF_TRUSTED_ORIGINS, _public.origin]
if _public is not None and _public.https:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^(healthz|readyz|metrics)$"]  # probes on loopback, plain http
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("OPENCLAW_HSTS_SECONDS", default=365 * 86400)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("OPENCLAW_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("OPENCLAW_HSTS_PRELOAD", default=True)

LOG_LEVEL = env.str("OPENCLAW_LOG_LEVEL", default="INFO")
# "text" (readable lines) or "json" (one object a line, for log shippers); both carry run/session.
OPENCLAW_LOG_FORMAT = env.str("OPENCLAW_LOG_FORMAT", default="text")
if OPENCLAW_LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"OPENCLAW_LOG_FORMAT={OPENCLAW_LOG_FORMAT!r}: use text or json.")
LOGGING = logging_settings(LOG_LEVEL, as_json=OPENCLAW_LOG_FORMAT == "json")

# --- openclaw ---------------------------------------------------------------------------
# A token generated into the state file is good for loopback only; a public bind needs one set
# on purpose (`manage.py gateway` refuses otherwise).
OPENCLAW_GATEWAY_TOKEN_FROM_ENV = bool(env.str("OPENCLAW_GATEWAY_TOKEN", default=""))
OPENCLAW_GATEWAY_TOKEN = env.str("OPENCLAW_GATEWAY_TOKEN", default="") or state_secret(
    OPENCLAW_HOME, "gateway.token"
)
OPENCLAW_BIND = env.str("OPENCLAW_BIND", default="127.0.0.1")
OPENCLAW_PORT = env.int("OPENCLAW_PORT", default=8000)
OPENCLAW_WORKSPACES = OPENCLAW_HOME / "workspaces"
OPENCLAW_SESSIONS_DIR = OPENCLAW_HOME / "sessions"
OPENCLAW_DEFAULT_AGENT = env.str("OPENCLAW_DEFAULT_AGENT", default="main")

OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="")
OPENCLAW_MODEL = env.str("OPENCLAW_MODEL", default="")
# Where each provider of a qualified model id (`anthropic/…`, `ollama/…`; agents.providers) is
# reached. Their keys are in OPENCLAW_PROVIDER_KEYS, by the provider's key variable.
AZURE_OPENAI_ENDPOINT = env.str("AZURE_OPENAI_ENDPOINT", default="")
AZURE_OPENAI_API_VERSION = env.str("AZURE_OPENAI_API_VERSION", default="2024-10-21")
ANTHROPIC_BASE_URL = env.str("ANTHROPIC_BASE_URL", default="https://api.anthropic.com")
GEMINI_BASE_URL = env.str(
    "GEMINI_BASE_URL", default="https://generativelanguage.googleapis.com/v1beta/openai/"
)
OLLAMA_BASE_URL = env.str("OLLAMA_BASE_URL", default="http://127.0.0.1:11434/v1")
OPENROUTER_BASE_URL = env.str("OPENROUTER_BASE_URL", default="https://openrouter.ai/api/v1")
VLLM_BASE_URL = env.str("VLLM_BASE_URL", default="http://127.0.0.1:8000/v1")
# Provider keys are looked up by variable name (Agent.api_key_env); only names ending in
# _API_KEY (or _API_KEY_<n>, the extra keys agents.failover rotates to on 429s) are eligible,
# so an agent can never be pointed at an unrelated secret.
OPENCLAW_PROVIDER_KEYS: dict[str, str] = {
    name: value
    for name, value in os.environ.items()
    if value
    and (
        name.endswith("_API_KEY")
        or ("_API_KEY_" in name and name.rpartition("_API_KEY_")[2].isdecimal())
    )
}
# Platform credentials, looked up by the variable names a ChannelAccount references.
OPENCLAW_CHANNEL_ENV: dict[str, str] = {
    name: value
    for name, value in os.environ.items()
    if name.startswith(("SLACK_", "TELEGRAM_", "WHATSAPP_")) and value
}
# Values an MCP server may be given (agents.mcp: its process's variables, its HTTP headers),
# looked up by the variable names an MCPServer references; only MCP_* names are eligible, so a
# server can never be handed the gateway's own keys.
OPENCLAW_MCP_ENV: dict[str, str] = {
    name: value for name, value in os.environ.items() if name.startswith("MCP_") and value
}
SLACK_API_URL = env.str("SLACK_API_URL", default="https://slack.com/api/")
TELEGRAM_API_URL = env.str("TELEGRAM_API_URL", default="https://api.telegram.org")
TELEGRAM_WEBHOOK_URL = env.str("TELEGRAM_WEBHOOK_URL", default="")
WHATSAPP_API_URL = env.str("WHATSAPP_API_URL", default="https://graph.facebook.com/v21.0")
WHATSAPP_PHONE_NUMBER_ID = env.str("WHATSAPP_PHONE_NUMBER_ID", default="")
OPENCLAW_STREAM_EDIT_SECONDS = env.float("OPENCLAW_STREAM_EDIT_SECONDS", default=1.0)
OPENCLAW_RESUME_HOURS = env.float("OPENCLAW_RESUME_HOURS", default=24.0)

OPENCLAW_MODEL_TIMEOUT = env.float("OPENCLAW_MODEL_TIMEOUT", default=120.0)
OPENCLAW_MODEL_MAX_RETRIES = env.int("OPENCLAW_MODEL_MAX_RETRIES", default=2)
OPENCLAW_RUN_DEADLINE = env.float("OPENCLAW_RUN_DEADLINE", default=600.0)
OPENCLAW_DRAIN_SECONDS = env.float("OPENCLAW_DRAIN_SECONDS", default=20.0)
OPENCLAW_MAX_CONCURRENT_RUNS = env.int("OPENCLAW_MAX_CONCURRENT_RUNS", default=64)
OPENCLAW_MAX_FRAME_BYTES = env.int("OPENCLAW_MAX_FRAME_BYTES", default=256 * 1024)
OPENCLAW_MAX_MESSAGE_CHARS = env.int("OPENCLAW_MAX_MESSAGE_CHARS", default=32_000)
OPENCLAW_BOOTSTRAP_FILE_CHARS = env.int("OPENCLAW_BOOTSTRAP_FILE_CHARS", default=20_000)
# --- media (docs/media.md) ---------------------------------------------------------------
OPENCLAW_MAX_ATTACHMENT_BYTES = env.int("OPENCLAW_MAX_ATTACHMENT_BYTES", default=20 * 1024 * 1024)
# Images whose header declares more pixels are refused before anything decodes them.
OPENCLAW_MAX_IMAGE_PIXELS = env.int("OPENCLAW_MAX_IMAGE_PIXELS", default=40_000_000)
# Text extracted from a document (txt, md, csv, json, PDF) into the turn, in characters.
OPENCLAW_MEDIA_TEXT_CHARS = env.int("OPENCLAW_MEDIA_TEXT_CHARS", default=20_000)
# Voice and audio transcription (an OpenAI-compatible /v1/audio/transcriptions); "" = off.
OPENCLAW_TRANSCRIBE_MODEL = env.str("OPENCLAW_TRANSCRIBE_MODEL", default="")
OPENCLAW_TRANSCRIPT_FSYNC = env.bool("OPENCLAW_TRANSCRIPT_FSYNC", default=False)
OPENCLAW_TOOL_TIMEOUT = env.float("OPENCLAW_TOOL_TIMEOUT", default=120.0)
OPENCLAW_STREAM_IDLE_TIMEOUT = env.float("OPENCLAW_STREAM_IDLE_TIMEOUT", default=90.0)
OPENCLAW_BOOTSTRAP_TOTAL_CHARS = env.int("OPENCLAW_BOOTSTRAP_TOTAL_CHARS", default=60_000)
OPENCLAW_COMPACTION_KEEP_TURNS = env.int("OPENCLAW_COMPACTION_KEEP_TURNS", default=4)

# --- tools ------------------------------------------------------------------------------
OPENCLAW_TOOL_OUTPUT_CHARS = env.int("OPENCLAW_TOOL_OUTPUT_CHARS", default=16_000)
OPENCLAW_WEB_FETCH_TIMEOUT = env.float("OPENCLAW_WEB_FETCH_TIMEOUT", default=15.0)
OPENCLAW_WEB_FETCH_MAX_BYTES = env.int("OPENCLAW_WEB_FETCH_MAX_BYTES", default=2 * 1024 * 1024)
# Host names that may resolve to private or loopback addresses (tests, a trusted intranet host).
OPENCLAW_WEB_FETCH_ALLOW_HOSTS: list[str] = env.list("OPENCLAW_WEB_FETCH_ALLOW_HOSTS", default=[])
# The exec tool's PATH: fixed here so the gateway's own environment never leaks into commands.
OPENCLAW_EXEC_PATH = env.str("OPENCLAW_EXEC_PATH", default="/usr/local/bin:/usr/bin:/bin")

# --- scheduled jobs (gateway/job_runner.py, the cron tool; see .env.example) ------------------
OPENCLAW_SCHEDULER_POLL_SECONDS = env.float("OPENCLAW_SCHEDULER_POLL_SECONDS", default=5.0)
OPENCLAW_CRON_MIN_INTERVAL_SECONDS = env.int("OPENCLAW_CRON_MIN_INTERVAL_SECONDS", default=60)
OPENCLAW_CRON_MAX_JOBS = env.int("OPENCLAW_CRON_MAX_JOBS", default=50)

# --- memory (memory app; see .env.example) ----------------------------------------------------
OPENCLAW_MEMORY_MAX_CHARS = env.int("OPENCLAW_MEMORY_MAX_CHARS", default=8_000)
OPENCLAW_MEMORY_SCAN_SECONDS = env.float("OPENCLAW_MEMORY_SCAN_SECONDS", default=30.0)
OPENCLAW_MEMORY_SESSION_START_CHARS = env.int("OPENCLAW_MEMORY_SESSION_START_CHARS", default=6_000)
# Newer daily logs win near-ties (at most +10 %, halving every this many days); 0 turns it off.
OPENCLAW_MEMORY_RECENCY_HALF_LIFE_DAYS = env.float(
    "OPENCLAW_MEMORY_RECENCY_HALF_LIFE_DAYS", default=30.0
)
# Characters memory_search hands the model in total, spread over its hits by score.
OPENCLAW_MEMORY_SEARCH_CHARS = env.int("OPENCLAW_MEMORY_SEARCH_CHARS", default=4_000)
OPENCLAW_EMBEDDINGS_MODEL = env.str("OPENCLAW_EMBEDDINGS_MODEL", default="")
OPENCLAW_EMBEDDINGS_BASE_URL = env.str("OPENCLAW_EMBEDDINGS_BASE_URL", default="")
OPENCLAW_EMBEDDINGS_API_KEY_ENV = env.str(
    "OPENCLAW_EMBEDDINGS_API_KEY_ENV", default="OPENAI_API_KEY"
)
# Share of the vector score in hybrid search; empty: the model's measured default
# (memory.embeddings.vector_weight)
_vector_weight = env.str("OPENCLAW_MEMORY_VECTOR_WEIGHT", default="").strip()
OPENCLAW_MEMORY_VECTOR_WEIGHT = float(_vector_weight) if _vector_weight else None

# --- security (gateway/policy.py, pairing.py, ratelimit.py; see .env.example) ---------------
# Moving-window limits ("N/second|minute|hour"); per-account rates override the inbound ones.
OPENCLAW_WS_RATE_LIMIT = env.str("OPENCLAW_WS_RATE_LIMIT", default="30/minute")
OPENCLAW_INBOUND_RATE_PER_SENDER = env.str("OPENCLAW_INBOUND_RATE_PER_SENDER", default="10/minute")
OPENCLAW_INBOUND_RATE_PER_ACCOUNT = env.str(
    "OPENCLAW_INBOUND_RATE_PER_ACCOUNT", default="60/minute"
)
OPENCLAW_MAX_ATTACHMENT_BYTES = env.int("OPENCLAW_MAX_ATTACHMENT_BYTES", default=10 * 1024 * 1024)
OPENCLAW_MAX_TRANSCRIPT_ENTRY_CHARS = env.int("OPENCLAW_MAX_TRANSCRIPT_ENTRY_CHARS", default=64_000)
OPENCLAW_EXEC_APPROVAL_TIMEOUT = env.float("OPENCLAW_EXEC_APPROVAL_TIMEOUT", default=300.0)
# Admin login throttling (django-axes): failed logins of one user from one address before that
# pair is locked out for the cool-off; a success resets the count.
AXES_FAILURE_LIMIT = env.int("OPENCLAW_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("OPENCLAW_LOGIN_COOLOFF_MINUTES", default=15.0))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# --- HTTP API and hooks (gateway/httpapi/, docs/http-api.md; see .env.example) --------------
# The OpenAI-compatible /v1 endpoints (the gateway token as a Bearer token); absent (404) if off.
OPENCLAW_HTTP_API = env.bool("OPENCLAW_HTTP_API", default=False)
# The token of /hooks/wake and /hooks/agent (a header, never the URL); absent (404) while empty.
OPENCLAW_HOOKS_TOKEN = env.str("OPENCLAW_HOOKS_TOKEN", default="")

# --- telegram (gateway/adapters/telegram*.py; see .env.example) ------------------------------
# Seconds one getUpdates long poll is held open by Telegram (tests use 1).
TELEGRAM_POLL_TIMEOUT = env.int("TELEGRAM_POLL_TIMEOUT", default=25)
