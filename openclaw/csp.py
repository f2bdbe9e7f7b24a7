"""Content-Security-Policy on every page the gateway serves (the web chat, the admin): scripts,
images and connections from this origin only, so Markdown rendered from a transcript, a memory
file or a model's answer cannot load a remote image (data leaving by URL) or run a script; no
framing by other sites."""

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # blob: is what the web chat makes of an image it fetched from its own media
        # endpoint with the token (an <img> cannot send a header) or of a file being attached.
        "img-src 'self' data: blob:",
        # Django's admin sets a few style attributes; styles cannot send data anywhere
        # when images, fonts and connections are ours only.
        "style-src 'self' 'unsafe-inline'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Sets `POLICY` on every response that does not carry one of its own. Async and sync alike
    (Django's recommended shape), so the gateway's async views stay on the event loop."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        return _with_policy(self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        return _with_policy(await self.get_response(request))


def _with_policy(response: HttpResponse) -> HttpResponse:
    response.headers.setdefault("Content-Security-Policy", POLICY)
    return response
