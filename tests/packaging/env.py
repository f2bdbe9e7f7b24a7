"""The environment of a first-time self-hoster for the packaging tests: none of this machine's
openclaw, Django, database or provider variables, and a home folder of the test's own (so the
default state directory, `~/.openclaw`, is a temporary one)."""

import os
import re
from pathlib import Path

from tests.gateway_process import PROVIDER_PREFIXES, ROOT

ENV_EXAMPLE = ROOT / ".env.example"
_EXAMPLE_NAME = re.compile(r"^([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def example_names() -> set[str]:
    return set(_EXAMPLE_NAME.findall(ENV_EXAMPLE.read_text(encoding="utf-8")))


def fresh_env(home: Path, **extra: str) -> dict[str, str]:
    """os.environ without anything .env.example names (nor OPENCLAW_*, DJANGO_*, providers'),
    with HOME set to `home`."""
    names = example_names() | {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
    prefixes = (*PROVIDER_PREFIXES, "OPENCLAW_", "DJANGO_", "PYTEST_", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k not in names and not k.startswith(prefixes)}
    env.update({"HOME": str(home), "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env
