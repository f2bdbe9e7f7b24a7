"""The gateway WebSocket consumer: authenticate, parse frames, dispatch, forward events."""

import json
import logging
from collections import OrderedDict
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from gateway import methods, metrics, protocol
from gateway.auth import is_authorised, origin_allowed
from gateway.events import GatewayEventMessage, ShutdownMessage, session_group
from gateway.state import runtime
from openclaw.perf import channels as perf_channels

logger = logging.getLogger(__name__)

CLOSE_UNAUTHORISED = 4401
# 1012 means "service restart", but Daphne (Autobahn) sends only 1000 or 3000-4999.
CLOSE_SERVICE_RESTART = 4012
# A socket follows at most this many sessions; past that, the one it used longest ago is
# dropped. Each is a channel-layer group (memory in the process, a key in Redis), and a socket
# that stays open for weeks while it talks in new sessions would otherwise hold them all.
MAX_SESSIONS_FOLLOWED = 256


class GatewayConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]  # channels is untyped
    # Channels' dispatch without its stale-connection hop before every frame and event.
    dispatch = perf_channels.dispatch

    async def connect(self) -> None:
        self.groups_joined: set[str] = set()
        self.sessions_followed: OrderedDict[str, None] = OrderedDict()  # oldest use first
        if origin_allowed(self.scope) is False:
            await self.close()  # before accept: the handshake is refused (HTTP 403)
            return
        await self.accept()
        if not is_authorised(self.scope):
            await self.close(code=CLOSE_UNAUTHORISED)
            return
        await self._join(runtime.sockets_group)
        metrics.websocket_opened()

    async def disconnect(self, code: int) -> None:
        if runtime.sockets_group in getattr(self, "groups_joined", ()):
            metrics.websocket_closed()
        for group in getattr(self, "groups_joined", ()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def subscribe(self, session_key: str) -> None:
        group = session_group(session_key)
        followed = self.sessions_followed
        followed[group] = None
        followed.move_to_end(group)
        await self._join(group)
        while len(followed) > MAX_SESSIONS_FOLLOWED:
            oldest, _ = followed.popitem(last=False)
            self.groups_joined.discard(oldest)
            await self.channel_layer.group_discard(oldest, self.channel_name)

    async def _join(self, group: str) -> None:
        if group not in self.groups_joined:
            self.groups_joined.add(group)
            await self.channel_layer.group_add(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        request_id: str | None = None
        try:
            request = protocol.parse_request(text_data, max_bytes=settings.OPENCLAW_MAX_FRAME_BYTES)
            request_id = request.id
            result = await methods.dispatch(self, request.method, request.params)
            await self._send(protocol.ok(request.id, result))
        except protocol.ProtocolError as exc:
            await self._send(protocol.error(exc.request_id or request_id, exc.code, exc.message))
        except Exception:
            logger.exception("Gateway request %s failed", request_id)
            await self._send(
                protocol.error(request_id, "internal", "Internal error; see the gateway log.")
            )

    async def gateway_event(self, message: GatewayEventMessage) -> None:
        await self._send(protocol.event(message["event"], message["data"]))

    async def gateway_shutdown(self, message: ShutdownMessage) -> None:
        # Queued after every event of the drained runs, so clients get those first.
        await self.close(code=CLOSE_SERVICE_RESTART)

    async def _send(self, frame: Any) -> None:
        await self.send(text_data=json.dumps(frame, ensure_ascii=False, separators=(",", ":")))
