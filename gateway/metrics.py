"""Prometheus metrics of the gateway, in a registry of our own (never the library's global one).

Turns are counted where they run (`TurnMetrics`, used by `gateway.runs`); gauges of live state
(lanes, connections, the inbound journal) are read when `/metrics` is scraped.
"""

import logging
import time
from types import TracebackType
from typing import Any

from channels.db import database_sync_to_async
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from agents.turn import TurnOutcome
from agents.turn_events import EventSink
from gateway.models import InboundRecord
from gateway.state import runtime

logger = logging.getLogger(__name__)
CONTENT_TYPE = CONTENT_TYPE_LATEST
REGISTRY = CollectorRegistry(auto_describe=True)
# Seconds; a first token past 30 s or a turn past 10 min is an outage, not a distribution.
FIRST_TOKEN_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
TURN_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 600.0)

TURNS = Counter(
    "openclaw_turns",
    "Agent turns that ended, by channel and outcome (a stop reason, error, aborted or crashed).",
    ["channel", "outcome"],
    registry=REGISTRY,
)
FIRST_TOKEN = Histogram(
    "openclaw_turn_first_token_seconds",
    "Time from a turn's start to the first text streamed to the user.",
    ["channel"],
    buckets=FIRST_TOKEN_BUCKETS,
    registry=REGISTRY,
)
TURN_SECONDS = Histogram(
    "openclaw_turn_seconds",
    "Time from a turn's start to its end (answer, error or abort).",
    ["channel"],
    buckets=TURN_BUCKETS,
    registry=REGISTRY,
)
TOKENS = Counter(
    "openclaw_tokens",
    "Model tokens by model and kind (input, output, cached input).",
    ["model", "kind"],
    registry=REGISTRY,
)
ERRORS = Counter(
    "openclaw_errors",
    "Failed turns by error kind (model_unreachable, model_auth, timeout, rate_limited, ...).",
    ["kind"],
    registry=REGISTRY,
)
RUNS_BUSY = Gauge("openclaw_lane_runs_busy", "Runs executing now.", registry=REGISTRY)
RUNS_QUEUED = Gauge(
    "openclaw_lane_runs_queued", "Runs waiting on their session's lane.", registry=REGISTRY
)
CONNECTION_STATE = Gauge(
    "openclaw_channel_connection_state",
    "1 for the current state of each platform account's connection.",
    ["channel", "account", "state"],
    registry=REGISTRY,
)
WEBSOCKETS = Gauge(
    "openclaw_websocket_connections",
    "Authorised gateway WebSocket connections open now.",
    registry=REGISTRY,
)
JOURNAL_PENDING = Gauge(
    "openclaw_inbound_journal_pending",
    "Platform messages accepted into the inbound journal and not yet answered.",
    registry=REGISTRY,
)
RUNTIME_UP = Gauge(
    "openclaw_runtime_running", "1 while the gateway runtime is running.", registry=REGISTRY
)


class _FirstTokenSink:
    """Passes events on, noting when the first text went out (a text delta, or the final
    answer of a turn whose answer arrived whole)."""

    def __init__(self, inner: EventSink, turn: "TurnMetrics") -> None:
        self.inner, self.turn = inner, turn

    async def emit(self, event: str, data: dict[str, Any]) -> None:
        first_text = event == "chat.delta" or (event == "chat.final" and data.get("text"))
        if first_text and self.turn.first_token is None:
            self.turn.first_token = time.monotonic() - self.turn.started
        await self.inner.emit(event, data)


class TurnMetrics:
    """Measures one turn: `with TurnMetrics(channel, model) as m:` then run the turn with
    `m.sink(sink)` and hand its outcome to `m.finish`. A turn left by an exception counts as
    `aborted` (cancellation) or `crashed`."""

    def __init__(self, channel: str, model: str) -> None:
        self.channel, self.model = channel or "unknown", model or "unconfigured"
        self.started = time.monotonic()
        self.first_token: float | None = None
        self.outcome: TurnOutcome | None = None

    def sink(self, inner: EventSink) -> EventSink:
        return _FirstTokenSink(inner, self)

    def finish(self, outcome: TurnOutcome) -> None:
        self.outcome = outcome

    def __enter__(self) -> "TurnMetrics":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        outcome = self.outcome
        if outcome is not None and outcome.error is not None:
            label = "error"
            ERRORS.labels(outcome.error.code).inc()
        elif outcome is not None:
            label = outcome.stop_reason
        elif exc_type is not None and not issubclass(exc_type, Exception):
            label = "aborted"  # CancelledError: /stop, interrupt or shutdown
        else:
            label = "crashed"
            ERRORS.labels("internal").inc()
        seconds = time.monotonic() - self.started
        TURNS.labels(self.channel, label).inc()
        TURN_SECONDS.labels(self.channel).observe(seconds)
        if self.first_token is not None:
            FIRST_TOKEN.labels(self.channel).observe(self.first_token)
        usage = outcome.usage if outcome is not None else None
        if usage:
            TOKENS.labels(self.model, "input").inc(usage["prompt_tokens"])
            TOKENS.labels(self.model, "output").inc(usage["completion_tokens"])
            TOKENS.labels(self.model, "cached").inc(usage.get("cached_tokens", 0))
        # One line a turn (inside the turn's log context, so it carries run and session ids).
        logger.info(
            "Turn ended (%s) on %s with %s in %.2f s, first token %s, tokens in %d / out %d",
            label,
            self.channel,
            self.model,
            seconds,
            "-" if self.first_token is None else f"{self.first_token:.2f} s",
            usage["prompt_tokens"] if usage else 0,
            usage["completion_tokens"] if usage else 0,
        )


def websocket_opened() -> None:
    WEBSOCKETS.inc()


def websocket_closed() -> None:
    WEBSOCKETS.dec()


def _journal_pending() -> int:
    return InboundRecord.objects.filter(status=InboundRecord.Status.ACCEPTED).count()


async def render() -> bytes:
    """The exposition text, with the live gauges read now (call on the gateway's loop)."""
    status = runtime.status()
    RUNTIME_UP.set(1 if status["runtime"] == "running" else 0)
    RUNS_BUSY.set(status["runs_busy"])
    RUNS_QUEUED.set(status["runs_queued"])
    CONNECTION_STATE.clear()
    for name, conn in status["channels"].items():
        channel, _, account = name.partition(":")
        CONNECTION_STATE.labels(channel, account, conn["state"]).set(1)
    JOURNAL_PENDING.set(await database_sync_to_async(_journal_pending)())
    return generate_latest(REGISTRY)
