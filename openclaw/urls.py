"""URL routes: admin, health probes, metrics, the web chat, platform webhooks."""

from django.contrib import admin
from django.urls import include, path

from gateway import views
from gateway.webhooks import telegram, whatsapp

urlpatterns = [
    path("", views.chat_page, name="chat"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    # Platform webhooks: each module's `urlpatterns`, mounted under /webhooks/<platform>/.
    path("webhooks/slack/", include("gateway.webhooks.slack")),
    path("webhooks/whatsapp/", include("gateway.webhooks.whatsapp")),
    path("webhooks/telegram/", include("gateway.webhooks.telegram")),
    # The same endpoints without the trailing slash: platforms POST and never follow redirects.
    path("webhooks/whatsapp", whatsapp.webhook),
    path("webhooks/telegram", telegram.update),
]
