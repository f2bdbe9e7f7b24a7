"""Who may open the gateway WebSocket: the gateway token, or a staff user with a same-origin page.

Pure functions over the ASGI scope, so the rules are tested as a table.
"""

import hmac
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def presented_token(scope: dict[str, Any]) -> str | None:
    auth = _header(scope, b"authorization")
    if auth and auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
    tokens = query.get("token")
    return tokens[0] if tokens else None


def token_is_valid(token: str | None) -> bool:
    expected = settings.OPENCLAW_GATEWAY_TOKEN
    if not token or not expected:
        return False
    return hmac.compare_digest(token.encode("utf-8"), expected.encode("utf-8"))


def origin_allowed(scope: dict[str, Any]) -> bool | None:
    """Whether a browser Origin is our own page: same host *and port* as the request (cookies
    ignore ports, so another app on localhost:other-port must not count) or a trusted origin.
    None when there is no Origin (a non-browser client, which then needs the token)."""
    origin = _header(scope, b"origin")
    if origin is None:
        return None
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    if f"{parts.scheme}://{parts.netloc}" in settings.CSRF_TRUSTED_ORIGINS:
        return True
    domain, _port = split_domain_port(parts.netloc)
    host = _header(scope, b"host")
    return (
        host is not None and host == parts.netloc and validate_host(domain, settings.ALLOWED_HOSTS)
    )


def is_authorised(scope: dict[str, Any]) -> bool:
    """The token alone authorises; a staff session cookie only together with our own Origin
    (so a page on another origin can never ride a logged-in admin's cookie)."""
    if token_is_valid(presented_token(scope)):
        return True
    user = scope.get("user")
    is_staff = bool(user is not None and user.is_active and user.is_staff)
    return is_staff and origin_allowed(scope) is True
