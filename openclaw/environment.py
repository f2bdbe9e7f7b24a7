"""How settings read the environment: django-environ where an empty value means the default and
a bad value is one line naming the variable; the secrets kept in the state directory; the
settings a public URL behind a TLS reverse proxy implies. Only `openclaw/settings.py` uses it."""

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured


class Env(environ.Env):  # type: ignore[misc]  # django-environ ships no type hints
    """django-environ with two changes.

    - An empty (or blank) value means the default, so `.env.example` copied as it is works:
      `DATABASE_URL=` is SQLite in the state directory, not a database without an engine.
    - A value that cannot be parsed names its variable: a typo in `.env` is one clear line
      (manage.py prints it), not a traceback ending in `int('abc')`.
    """

    def get_value(
        self,
        var: str,
        cast: Any = None,
        default: Any = environ.Env.NOTSET,
        parse_default: bool = False,
    ) -> Any:
        if default is not environ.Env.NOTSET and not self.ENVIRON.get(var, "x").strip():
            if parse_default and default is not None:
                return self.parse_value(default, cast)
            return default
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except (ValueError, TypeError) as exc:
            shown = self.ENVIRON.get(var, "")
            expected = f"a valid {cast.__name__}" if isinstance(cast, type) else f"valid ({exc})"
            raise ImproperlyConfigured(f"{var}={shown!r} is not {expected}.") from None


def dotenv_path(chosen: str, source_root: Path) -> Path:
    """The `.env` file to read: the one named by OPENCLAW_ENV_FILE; else, in a source checkout
    (manage.py beside the packages), the one at its root; else (an installed package) the one in
    the current directory."""
    if chosen.strip():
        return Path(chosen).expanduser()
    if (source_root / "manage.py").is_file():
        return source_root / ".env"
    return Path.cwd() / ".env"


def state_secret(home: Path, filename: str, nbytes: int = 32) -> str:
    """A secret kept in the state directory, created (mode 0600) on first use.

    The file appears whole or not at all (written aside, then hard-linked into place), so a
    process starting beside another (the gateway and its worker, two Compose services) never
    reads it half-written: it reads the first one's secret. A blank file, left by a crash of a
    version that wrote in place, is made again rather than taken as an empty secret."""
    path = home / filename
    while True:
        try:
            value = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            value = ""
        else:
            if value:
                return value
            path.unlink(missing_ok=True)
        value = secrets.token_urlsafe(nbytes)
        temp = home / f".{filename}.{secrets.token_hex(8)}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(value + "\n")
            os.link(temp, path)  # fails when another process put its secret there first
        except FileExistsError:
            continue  # read theirs
        finally:
            temp.unlink(missing_ok=True)
        return value


@dataclass(frozen=True)
class PublicURL:
    """Where people reach the gateway through a reverse proxy (OPENCLAW_PUBLIC_URL)."""

    host: str  # for ALLOWED_HOSTS
    origin: str  # for CSRF_TRUSTED_ORIGINS (scheme://host[:port])
    https: bool  # the proxy terminates TLS: secure cookies, HSTS, the forwarded scheme trusted


def public_url(value: str) -> PublicURL | None:
    """Parse OPENCLAW_PUBLIC_URL (`https://claw.example.com`); None when it is empty."""
    value = value.strip()
    if not value:
        return None
    parts = urlsplit(value)
    problem = ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problem = "it is not an http:// or https:// URL with a host name"
    elif parts.path not in ("", "/") or parts.query or parts.fragment:
        problem = "the gateway is served at the root of its host: drop the path"
    elif parts.username or parts.password:
        problem = "it must not carry a user name or password"
    if problem:
        raise ImproperlyConfigured(f"OPENCLAW_PUBLIC_URL={value!r}: {problem}.")
    host = parts.hostname or ""
    return PublicURL(
        host=f"[{host}]" if ":" in host else host,
        origin=f"{parts.scheme}://{parts.netloc.lower()}",
        https=parts.scheme == "https",
    )
