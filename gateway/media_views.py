"""The web chat's file endpoints: `POST /chat/media?session=<key>` stores one upload (multipart
field `file`) for the session, `GET /chat/media/<media path>?session=<key>` serves a stored file
of that session. Both take the gateway token as a Bearer header, or a staff user's session
with the permissions the WebSocket asks for the same thing (and, to upload, our own Origin).
A file is never served for another session, never as a page (its type is detected again;
only raster images inline; nosniff and a sandboxing policy), and never found by a file name.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from agents.media.types import MediaRefused
from agents.services import NotFound
from gateway import webchat_media
from gateway.auth import origin_allowed, token_is_valid
from openclaw.perf import offload

# What a served file may do when opened on its own: nothing (no script, no plugin, no frame).
SERVED_POLICY = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
FORBIDDEN = {"error": "Send the gateway token as a Bearer header, or sign in as staff."}


def _bearer(request: HttpRequest) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and token_is_valid(token.strip())


async def _allowed(request: HttpRequest, perms: tuple[str, ...], *, writes: bool) -> bool:
    """The token holder; or an active staff user with `perms` (and our own Origin for a
    request that writes, so another site cannot ride the cookie)."""
    if _bearer(request):
        return True
    user = await request.auser()
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    scope: dict[str, Any] = getattr(request, "scope", {})
    if writes and origin_allowed(scope) is not True:
        return False
    return bool(await offload.database(user.has_perms, perms))


@csrf_exempt  # a Bearer token, or staff with our own Origin (checked in `_allowed`)
@require_POST
async def upload(request: HttpRequest) -> HttpResponse:
    if not await _allowed(request, ("agents.view_session", "agents.change_session"), writes=True):
        return JsonResponse(FORBIDDEN, status=403)
    session = request.GET.get("session", "")
    file = request.FILES.get("file")
    if file is None:
        return JsonResponse({"error": "Send one file as the multipart field `file`."}, status=400)
    try:
        media = await offload.files(webchat_media.store_upload, session, file)
    except MediaRefused as refused:
        return JsonResponse({"error": str(refused), "reason": refused.reason}, status=422)
    except NotFound as exc:
        return JsonResponse({"error": str(exc)}, status=404)
    return JsonResponse(media.as_dict() | {"url": f"/chat/{media.path}"}, status=201)


@require_GET
async def serve(request: HttpRequest, media_path: str) -> HttpResponse:
    if not await _allowed(request, ("agents.view_session",), writes=False):
        return JsonResponse(FORBIDDEN, status=403)
    media = f"media/{media_path}"
    session = request.GET.get("session", "")
    if not await offload.files(webchat_media.may_see, session, media):
        return JsonResponse({"error": "No such file in this session."}, status=404)
    try:
        real, mime, inline = await offload.files(webchat_media.served, media)
    except (ValueError, OSError):
        return JsonResponse({"error": "No such file in this session."}, status=404)
    data: bytes = await offload.files(real.read_bytes)  # within the attachment cap
    response = HttpResponse(data, content_type=mime)
    response["Content-Disposition"] = content_disposition_header(not inline, real.name) or ""
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SERVED_POLICY
    response["Cache-Control"] = "private, max-age=3600"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


urlpatterns = [
    path("media", upload, name="chat-media-upload"),
    path("media/<path:media_path>", serve, name="chat-media"),
]
