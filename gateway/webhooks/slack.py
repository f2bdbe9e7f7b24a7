"""Slack Events API webhook: verify the signature → answer Slack's URL check or route the
event (journaled before we answer 200, so a retried delivery is recognised) → 200."""

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from gateway import connections
from gateway.adapters.base import AdapterError
from gateway.webhooks import body_too_large


@csrf_exempt  # Slack signs its requests; there is no browser session to protect
@require_POST
async def events(request: HttpRequest, account: str = "default") -> HttpResponse:
    conn = connections.running("slack", account)
    if conn is None:
        return JsonResponse({"error": "unknown account"}, status=404)
    # Loaded with the account's connection already: an idle gateway without Slack never pays
    # for importing slack_sdk and aiohttp.
    from gateway.adapters.slack import receive_event, signature_is_valid

    if body_too_large(request):
        return JsonResponse({"error": "too large"}, status=413)
    if not signature_is_valid(conn.secret("signing_secret"), request.body, request.headers):
        return JsonResponse({"error": "invalid signature"}, status=401)
    try:
        payload = json.loads(request.body)
    except (ValueError, RecursionError):  # nested past the parser's depth: malformed
        return JsonResponse({"error": "not JSON"}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"error": "not an object"}, status=400)
    if payload.get("type") == "url_verification":
        return JsonResponse({"challenge": str(payload.get("challenge", ""))})
    try:
        await receive_event(conn, payload)
    except AdapterError as error:  # Slack itself unreachable (auth.test): it will retry
        return JsonResponse({"error": str(error)}, status=503)
    return HttpResponse(status=200)


urlpatterns = [
    path("events", events, name="slack-events"),
    path("<str:account>/events", events, name="slack-account-events"),
]
