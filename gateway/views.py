"""HTTP views of the gateway: liveness, readiness and the web chat page."""

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from gateway.runtime import runtime


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
