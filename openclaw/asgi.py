"""The ASGI application. It only runs inside `python manage.py gateway`, which owns the runtime
(Daphne has no lifespan events): importing `application` from a plain server refuses to start."""

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openclaw.settings")

REFUSAL = (
    "openclaw must be started with `python manage.py gateway` (it runs Daphne in-process and "
    "starts the gateway runtime); plain `daphne openclaw.asgi:application` would serve without it."
)


def build_application() -> Any:
    django_app = get_asgi_application()
    from channels.auth import AuthMiddleware
    from channels.routing import ProtocolTypeRouter, URLRouter
    from channels.sessions import CookieMiddleware

    from gateway.staticfiles import with_static_files
    from gateway.webhooks import cap_webhook_bodies
    from openclaw.perf.channels import SocketSessionMiddleware
    from openclaw.routing import websocket_urlpatterns

    sockets = URLRouter(websocket_urlpatterns)
    return ProtocolTypeRouter(
        {
            # Daphne serves no files itself; webhook bodies are capped before any view reads them.
            "http": with_static_files(cap_webhook_bodies(django_app)),
            # Channels' AuthMiddlewareStack, its session middleware without the per-frame wrapper.
            "websocket": CookieMiddleware(SocketSessionMiddleware(AuthMiddleware(sockets))),
        }
    )


def __getattr__(name: str) -> Any:
    if name == "application":
        raise SystemExit(REFUSAL)
    raise AttributeError(name)
