"""Static files served by the gateway process itself: Daphne serves none, and `manage.py gateway`
needs no collectstatic step or second server for the web chat's scripts and the admin's CSS.

Django's ASGI static handler (finders over the apps' static/ folders), with one fix: a path
that climbs out of a static folder is a plain 404, not an unhandled exception."""

from typing import Any

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, Http404, HttpRequest


class GatewayStaticFiles(ASGIStaticFilesHandler):
    def serve(self, request: HttpRequest) -> FileResponse:
        try:
            return super().serve(request)
        except SuspiciousFileOperation:
            raise Http404("Not found.") from None


def with_static_files(application: Any) -> Any:
    """Wrap the Django ASGI application so /static/... is answered before it."""
    return GatewayStaticFiles(application)
