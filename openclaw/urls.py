"""URL routes: admin, health probes, the web chat, platform webhooks."""

from django.contrib import admin
from django.urls import path

from gateway import views

urlpatterns = [
    path("", views.chat_page, name="chat"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    # Platform webhooks: each module's `urlpatterns`, mounted under /webhooks/<platform>/.
]
