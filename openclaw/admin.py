"""The admin site: Django's own, with the operator dashboard as its index page."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse


class OpenclawAdminSite(admin.AdminSite):
    site_header = "openclaw"
    site_title = "openclaw admin"
    index_title = "Dashboard"
    index_template = "admin/dashboard.html"

    def index(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        # Imported here: this module is loaded while apps are being set up, before models.
        from gateway.operator.dashboard import gather_dashboard

        context = {"dashboard": gather_dashboard(), **(extra_context or {})}
        return super().index(request, context)
