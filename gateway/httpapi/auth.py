"""Who may call the HTTP API (the gateway token) and the hooks (the hooks token): a token in a
header only, compared in constant time. Pure functions over the request."""

import hmac

from django.conf import settings
from django.http import HttpRequest

from gateway.auth import token_is_valid

HOOK_TOKEN_HEADER = "X-OpenClaw-Token"  # noqa: S105  # a header name


def bearer(request: HttpRequest) -> str:
    """The token of an `Authorization: Bearer <token>` header ("" without one)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def api_authorised(request: HttpRequest) -> bool:
    """The gateway token as a Bearer token (the `openai` clients' `api_key`)."""
    return token_is_valid(bearer(request))


def token_in_url(request: HttpRequest) -> bool:
    """A token in the query string: refused whatever it is (URLs end up in proxies' logs)."""
    return "token" in request.GET


def hook_authorised(request: HttpRequest) -> bool:
    """The hooks token as a Bearer token or in `X-OpenClaw-Token`; never the gateway's."""
    expected = settings.OPENCLAW_HOOKS_TOKEN
    given = bearer(request) or request.headers.get(HOOK_TOKEN_HEADER, "").strip()
    if not expected or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
