"""The rungs of `bench/tools/ladder.py`: scenario (b)'s client against the gateway's stack built
up one layer at a time, each rung an ASGI application served by a bare Daphne.

`LADDER_RUNG` picks the layers (each includes those before it):

1. Django set up, Channels' `AuthMiddlewareStack` and URL router, an `AsyncWebsocketConsumer`
   answering `chat.send` with its `res`, the model call (`bare_asgi._model_call`, aiohttp) and a
   `chat.final` sent straight to its socket;
2. the `chat.final` through the channel layer (a group of the socket, as a session's);
3. the session and the journal entry (`router._journal_and_admit`) in the database thread
   (`openclaw.perf.offload.database`), as `chat.send` does;
4. the user's entry and the answer appended to the session's transcript (`offload.files`, as
   `append_entries_async`).

Rung 0 is `bare_asgi.floor_application` (no Django at all); the gateway itself is scenario (b).
With `LADDER_INLINE=1`, rungs 3 and 4 do their database and file work on the event loop itself,
to tell the work's cost from its thread hop's (a measurement only: the gateway never does).
"""

import json
import os
import uuid
from pathlib import Path
from typing import Any

import django

django.setup()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from agents.transcripts import append_entries, make_entry  # noqa: E402
from bench.lib import bare_asgi  # noqa: E402
from gateway import router  # noqa: E402
from openclaw.perf import offload  # noqa: E402

RUNG = int(os.environ.get("LADDER_RUNG", "1"))
INLINE = os.environ.get("LADDER_INLINE") == "1"
if INLINE:
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # the ORM on the loop: measurement only


async def _offloaded(offload_call: Any, fn: Any, *args: Any) -> Any:
    return fn(*args) if INLINE else await offload_call(fn, *args)


class RungConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]  # channels is untyped
    async def connect(self) -> None:
        await self.accept()
        self.group = "rung." + uuid.uuid4().hex
        await self.channel_layer.group_add(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        request = json.loads(text_data or "{}")
        text, run = request["params"]["text"], uuid.uuid4().hex[:16]
        key = request["params"]["session"]  # agent:main:…
        transcript = None
        if RUNG >= 3:
            message = router.WebMessage(key, text, uuid.uuid4().hex, "token", {})
            admitted = await _offloaded(offload.database, router._journal_and_admit, message, run)
            transcript = Path(admitted.session.transcript)
        await self.send(bare_asgi.res_frame(request, run))
        if transcript is not None and RUNG >= 4:
            user = make_entry("message", role="user", content=text, run=run)
            await _offloaded(offload.files, append_entries, transcript, [user])
        answer, usage = await bare_asgi._model_call(text)
        if transcript is not None and RUNG >= 4:
            said = make_entry("message", role="assistant", content=answer, run=run)
            await _offloaded(offload.files, append_entries, transcript, [said])
        final = bare_asgi.final_frame(run, answer, usage)
        if RUNG >= 2:
            await self.channel_layer.group_send(self.group, {"type": "rung.event", "text": final})
        else:
            await self.send(final)

    async def rung_event(self, message: dict[str, Any]) -> None:
        await self.send(message["text"])


application = ProtocolTypeRouter(
    {
        "http": bare_asgi.application,
        "websocket": AuthMiddlewareStack(URLRouter([path("", RungConsumer.as_asgi())])),
    }
)
