"""WhatsApp Cloud API webhook: GET answers Meta's subscription check, POST verifies
X-Hub-Signature-256 with the app secret, then journals each message before answering 200."""

import hmac
import json
import logging
from dataclasses import replace

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from gateway import connections
from gateway.adapters.base import AdapterError
from gateway.adapters.whatsapp import WhatsAppAdapter, parse_webhook, signature_ok
from gateway.connections import PlatformConnection
from gateway.state import runtime
from gateway.webhooks import body_too_large

logger = logging.getLogger(__name__)


def _text(body: str, status: int) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/plain")


@csrf_exempt
@require_http_methods(["GET", "POST"])
async def webhook(request: HttpRequest, account_id: str = "default") -> HttpResponse:
    conn = connections.running("whatsapp", account_id)
    if conn is None:
        running = runtime.state == "running"
        return _text("unknown account" if running else "not running", 404 if running else 503)
    if request.method == "GET":
        return _subscribe(request, conn)
    return await _receive(request, conn)


async def _receive(request: HttpRequest, conn: PlatformConnection) -> HttpResponse:
    """A signed notification: journal each message it carries (replying where due), then 200."""
    if body_too_large(request):
        return _text("too large", 413)
    body = request.body
    if not signature_ok(
        conn.secret("app_secret"), body, request.headers.get("X-Hub-Signature-256")
    ):
        return _text("bad signature", 401)
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # nested past the parser's depth: malformed
        return _text("malformed JSON", 400)
    if not isinstance(payload, dict):
        return _text("malformed payload", 400)
    for number, message in parse_webhook(conn.account_id, payload):
        target = _receiver(conn, number)
        if target is None:
            logger.warning("WhatsApp message for phone number id %s, which no account has", number)
            continue
        try:
            await target.receive_inbound(replace(message, account=target.account_id))
        except AdapterError as error:  # journaled; only the immediate reply failed
            await target.set_state("failing", str(error))
        except Exception:
            # Not acknowledged, so Meta delivers it again; the journal drops what was routed.
            logger.exception("Routing a WhatsApp message failed")
            return _text("try again", 503)
    return _text("ok", 200)


def _subscribe(request: HttpRequest, conn: PlatformConnection) -> HttpResponse:
    """Meta's verification request: echo `hub.challenge` when the verify token matches."""
    expected = conn.secret("verify_token")
    offered = request.GET.get("hub.verify_token", "")
    if (
        request.GET.get("hub.mode") == "subscribe"
        and expected
        and hmac.compare_digest(expected.encode(), offered.encode())
    ):
        return _text(request.GET.get("hub.challenge", "")[:200], 200)
    return _text("verification failed", 403)


def _receiver(conn: PlatformConnection, number: str) -> PlatformConnection | None:
    """One Meta app posts every number's messages to one URL: route by the receiving number."""
    if not number or _number(conn) in ("", number):
        return conn
    for other in connections.running_all():
        # Only accounts of the same Meta app: the signature was checked with this app's secret.
        same_app = other.secret("app_secret") == conn.secret("app_secret")
        if other.channel == "whatsapp" and _number(other) == number and same_app:
            return other
    return None


def _number(conn: PlatformConnection) -> str:
    return conn.adapter.phone_number_id if isinstance(conn.adapter, WhatsAppAdapter) else ""


urlpatterns = [
    path("", webhook, name="whatsapp-webhook"),
    path("<str:account_id>/", webhook, name="whatsapp-webhook-account"),
]
