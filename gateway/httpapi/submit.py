"""A request's message handed to the router, for the API and the hooks alike: its idempotency
key, the routing itself, and what stops it as an HTTP refusal (status, message, code), which
each endpoint renders in its own shape."""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

from agents import services
from gateway import router
from gateway.httpapi.listener import SessionEvents
from gateway.lanes import LanesClosed
from gateway.state import runtime

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 128


@dataclass(frozen=True, slots=True)
class Refused:
    status: int
    message: str
    code: str | None = None


NOT_RUNNING = Refused(503, "The gateway is not running; try again.", "not_running")


def idempotency_key(request: HttpRequest) -> str:
    """The caller's `Idempotency-Key` (a retry with it runs nothing), else a fresh one."""
    given = request.headers.get(IDEMPOTENCY_HEADER, "").strip()[:MAX_KEY_CHARS]
    return given or uuid.uuid4().hex


def run_deadline() -> float:
    """How long a request waits for its run: the run's own deadline and a minute more."""
    return float(settings.OPENCLAW_RUN_DEADLINE) + 60


def refusal_before_routing() -> Refused | None:
    return None if runtime.state == "running" else NOT_RUNNING


async def submit(
    message: router.ApiMessage, listener: SessionEvents | None = None
) -> router.Routed | Refused:
    """Route `message` (`listener` follows its session from before it is queued); a refusal
    closes `listener`. Accepted, or a duplicate of a request routed before (its run answers)."""
    try:
        routed = await router.route(message, listener.follow if listener is not None else None)
    except services.NotFound as missing:
        refused = Refused(404, str(missing), "model_not_found")
    except LanesClosed:
        refused = NOT_RUNNING
    except BaseException:
        if listener is not None:
            await listener.close()
        raise
    else:
        if routed.outcome in ("accepted", "duplicate"):
            return routed
        refused = Refused(429, routed.reply or "Not taken.", "rate_limit_exceeded")
    if listener is not None:
        await listener.close()
    return refused
