"""HTTP views of the gateway: liveness, readiness, metrics and the web chat page."""

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from gateway import metrics
from gateway.auth import token_is_valid
from gateway.state import runtime


@require_GET
async def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "alive"})


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return bool(cursor.fetchone() == (1,))
    except Exception:
        return False


@require_GET
async def readyz(request: HttpRequest) -> HttpResponse:
    database = await database_sync_to_async(_database_answers)()
    status = runtime.status()
    ready = status["runtime"] == "running" and database
    body = {"ready": ready, "database": "ok" if database else "down", **status}
    return JsonResponse(body, status=200 if ready else 503)


def _may_read_metrics(request: HttpRequest) -> bool:
    """The gateway token as a Bearer header (never in the URL: proxies log URLs), or staff."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token_is_valid(token.strip()):
        return True
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.is_staff)


@require_GET
async def metrics_view(request: HttpRequest) -> HttpResponse:
    if not await database_sync_to_async(_may_read_metrics)(request):
        response = JsonResponse({"error": "Send the gateway token as a Bearer header."}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="openclaw"'
        return response
    return HttpResponse(await metrics.render(), content_type=metrics.CONTENT_TYPE)


@require_GET
def chat_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "ws_path": "/ws/gateway/",
        "is_staff": bool(user.is_authenticated and user.is_staff),
        "agent": settings.OPENCLAW_DEFAULT_AGENT,
        "csp_nonce": "",
    }
    return render(request, "gateway/chat.html", context)
