"""Daphne, embedded: the gateway process serves HTTP and WebSockets and owns the runtime.

Daphne has no ASGI lifespan events, so the runtime is started once the reactor runs and is
drained before Daphne cancels the connections (so in-flight turns still reach their sockets).
Import this module before anything imports `twisted.internet.reactor`.
"""

import daphne.server  # noqa: I001  # installs the asyncio reactor; must come first

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from channels.layers import get_channel_layer
from daphne.endpoints import build_endpoint_description_strings
from twisted.internet import defer, reactor

from gateway import http_body_cap, lifecycle
from gateway.events import STOP
from gateway.state import runtime

logger = logging.getLogger(__name__)


class GatewayServer(daphne.server.Server):  # type: ignore[misc]  # daphne is untyped
    # Daphne's run() sets its HTTP factory here: ours refuses an oversize webhook body while
    # Twisted reads it, before it is buffered whole (gateway.http_body_cap).
    @property
    def http_factory(self) -> Any:
        return self._http_factory

    @http_factory.setter
    def http_factory(self, factory: Any) -> None:
        self._http_factory = http_body_cap.capped(factory, self)

    def kill_all_applications(self) -> Any:
        """Drain the runtime first, then let Daphne cancel what is left."""

        async def drain_then_kill() -> None:
            try:
                await lifecycle.stop()
                await self._close_sockets()
            except Exception:
                logger.exception("Runtime stop failed")
            await self._cancel_applications()

        return defer.Deferred.fromFuture(asyncio.ensure_future(drain_then_kill()))

    async def _cancel_applications(self) -> None:
        """Daphne's own version fails on a connection whose application was already reaped
        (its entry has no `application_instance` any more): cancel only the live ones."""
        instances = [d.get("application_instance") for d in self.connections.values()]
        alive = [i for i in instances if i is not None and not i.done()]
        for instance in alive:
            instance.cancel()
        if alive:
            await asyncio.gather(*alive, return_exceptions=True)

    async def _close_sockets(self, grace: float = 3.0) -> None:
        """Ask every socket to close (after the events already queued for it), then wait."""
        layer = get_channel_layer()
        if layer is not None:
            await layer.group_send(runtime.sockets_group, STOP)
        deadline = asyncio.get_running_loop().time() + grace
        while asyncio.get_running_loop().time() < deadline:
            instances = (d.get("application_instance") for d in self.connections.values())
            if all(i is None or i.done() for i in instances):
                return
            await asyncio.sleep(0.05)


def serve(
    application: Any,
    *,
    host: str,
    port: int,
    on_ready: Callable[[], None],
    worker: bool = False,
) -> int:
    """Run until SIGTERM/SIGINT; returns the process exit code. With `worker`, the runtime also
    runs the embedded Celery worker with beat."""
    exit_code = 0

    async def start() -> None:
        nonlocal exit_code
        try:
            await lifecycle.start(worker=worker)
        except Exception:
            logger.exception("The gateway runtime failed to start")
            exit_code = 1
            reactor.stop()  # type: ignore[misc]  # twisted types the module, not the reactor
            return
        on_ready()

    def when_running() -> None:
        # callWhenRunning fires before the asyncio loop spins: schedule the start on it.
        loop = asyncio.get_event_loop()
        loop.call_soon(lambda: loop.create_task(start()))

    reactor.callWhenRunning(when_running)
    server = GatewayServer(
        application=application,
        endpoints=build_endpoint_description_strings(host=host, port=port),
        signal_handlers=True,
        verbosity=2,  # route Twisted's log into stdlib logging instead of discarding tracebacks
        websocket_timeout=-1,
        application_close_timeout=5,
    )
    server.run()
    return exit_code
