"""URL routes: admin, health probes, metrics, the web chat, platform webhooks, and (when
switched on) the OpenAI-compatible API and the hooks."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from gateway import views
from gateway.httpapi import urls as httpapi
from gateway.webhooks import telegram, whatsapp

urlpatterns = [
    path("", views.chat_page, name="chat"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    # The web chat's uploads and its stored files (authenticated; gateway/media_views.py).
    path("chat/", include("gateway.media_views")),
    # Platform webhooks: each module's `urlpatterns`, mounted under /webhooks/<platform>/.
    path("webhooks/slack/", include("gateway.webhooks.slack")),
    path("webhooks/whatsapp/", include("gateway.webhooks.whatsapp")),
    path("webhooks/telegram/", include("gateway.webhooks.telegram")),
    # The same endpoints without the trailing slash: platforms POST and never follow redirects.
    path("webhooks/whatsapp", whatsapp.webhook),
    path("webhooks/telegram", telegram.update),
]
# Absent (404) unless switched on: OPENCLAW_HTTP_API=1, a hooks token (docs/http-api.md).
if settings.OPENCLAW_HTTP_API:
    urlpatterns.append(path("v1/", include(httpapi.v1)))
if settings.OPENCLAW_HOOKS_TOKEN:
    urlpatterns.append(path("hooks/", include(httpapi.hook_routes)))
