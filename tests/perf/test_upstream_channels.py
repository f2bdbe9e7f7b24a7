"""Channels internals that `openclaw/perf/layers.py` and `openclaw/perf/channels.py` replace or
copy: still there, still shaped and behaving as those modules assume, their code unchanged."""

import inspect
from collections.abc import Callable
from typing import Any

import pytest
from channels import consumer as channels_consumer
from channels.auth import AuthMiddleware, AuthMiddlewareStack
from channels.consumer import AsyncConsumer, get_handler_name
from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer
from channels.sessions import CookieMiddleware, InstanceSessionWrapper, SessionMiddleware
from channels.testing import ApplicationCommunicator

from openclaw.perf import channels as perf_channels
from openclaw.perf.layers import GatewayInMemoryChannelLayer
from tests.perf.upstream import fingerprint, revisit

LAYERS = "openclaw/perf/layers.py"
CHANNELS = "openclaw/perf/channels.py"

# The upstream code each module replaces or copies, as `tests.perf.upstream.fingerprint` read it
# in the versions checked (channels 4.3.2). A new digest means upstream changed that code: read
# the change, bring the perf module in line (or drop it), then record the new digest here.
COPIED: list[tuple[str, Callable[..., Any], str]] = [
    (LAYERS, InMemoryChannelLayer.group_send, "e5896a90b84dff33"),
    (LAYERS, InMemoryChannelLayer._clean_expired, "fc04cb34df361540"),
    (CHANNELS, AsyncConsumer.dispatch, "8952644e05a26c9d"),
    (CHANNELS, SessionMiddleware.__call__, "ad5c8f612b427d8c"),
    (CHANNELS, InstanceSessionWrapper.send, "928c7937b195b621"),
]


@pytest.mark.parametrize(
    ("module", "fn", "digest"), COPIED, ids=lambda v: getattr(v, "__qualname__", "")
)
def test_the_upstream_code_a_perf_module_copies_is_unchanged(
    module: str, fn: Callable[..., Any], digest: str
) -> None:
    assert fingerprint(fn) == digest, revisit(module, "channels", f"the code of {fn.__qualname__}")


# openclaw/perf/layers.py


def test_the_layer_keeps_channels_and_groups_where_the_layer_patch_reads_them() -> None:
    layer = InMemoryChannelLayer()
    why = revisit(LAYERS, "channels", "InMemoryChannelLayer's attributes")
    assert layer.channels == {} and layer.groups == {}, why
    assert list(inspect.signature(layer._clean_expired).parameters) == [], why
    assert callable(layer.require_valid_group_name), why


async def test_receive_and_group_send_still_sweep_through_clean_expired() -> None:
    """The throttle sits in `_clean_expired`: upstream must still call it from `receive`."""

    class Counting(InMemoryChannelLayer):  # type: ignore[misc]  # untyped base
        sweeps = 0

        def _clean_expired(self) -> None:
            self.sweeps += 1
            super()._clean_expired()

    layer = Counting()
    await layer.send("a!1", {"type": "m"})
    await layer.receive("a!1")
    await layer.group_send("g", {"type": "m"})
    assert layer.sweeps == 2, revisit(LAYERS, "channels", "when the layer sweeps expired messages")


async def test_a_full_channel_still_raises_channel_full_on_send() -> None:
    """Our group send skips a full member on `ChannelFull`, as upstream's did."""
    layer = GatewayInMemoryChannelLayer(capacity=1)
    await layer.send("a!1", {"type": "m"})
    with pytest.raises(ChannelFull):
        await layer.send("a!1", {"type": "m"})


# openclaw/perf/channels.py: the consumer's dispatch


async def test_upstream_dispatch_still_pays_the_hop_ours_skips(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hops: list[str] = []

    async def counting() -> None:
        hops.append("close_old_connections")

    monkeypatch.setattr(channels_consumer, "aclose_old_connections", counting)
    why = revisit(CHANNELS, "channels", "AsyncConsumer's dispatch")

    class Upstream(AsyncConsumer):  # type: ignore[misc]  # untyped base
        async def test_ping(self, message: dict[str, Any]) -> None:
            hops.append(message["type"])

    class Ours(Upstream):
        dispatch = perf_channels.dispatch

    for consumer, expected in (
        (Upstream, ["close_old_connections", "test.ping"]),
        (Ours, ["test.ping"]),
    ):
        hops.clear()
        communicator = ApplicationCommunicator(consumer(), {"type": "test"})
        await communicator.send_input({"type": "test.ping"})
        await communicator.wait(timeout=0.2)  # the consumer waits for more: a timeout is normal
        assert hops == expected, why
    assert get_handler_name({"type": "gateway.event"}) == "gateway_event", why
    assert "self.dispatch" in inspect.getsource(AsyncConsumer.__call__), why


# openclaw/perf/channels.py: the socket session middleware


def test_the_auth_stack_is_still_cookies_sessions_auth() -> None:
    """`openclaw.asgi` builds Channels' `AuthMiddlewareStack` by hand, with our session layer."""
    inner = object()
    stack = AuthMiddlewareStack(inner)
    why = revisit(CHANNELS, "channels", "AuthMiddlewareStack's layers")
    assert isinstance(stack, CookieMiddleware), why
    assert type(stack.inner) is SessionMiddleware, why
    assert type(stack.inner.inner) is AuthMiddleware and stack.inner.inner.inner is inner, why


def test_a_session_is_still_saved_only_at_an_http_response_start() -> None:
    """Why a socket may go without the wrapped `send`: no WebSocket frame ever saved a session."""
    why = revisit(CHANNELS, "channels", "when InstanceSessionWrapper saves a session")
    assert InstanceSessionWrapper.save_message_types == ["http.response.start"], why
    assert InstanceSessionWrapper.cookie_response_message_types == ["http.response.start"], why


@pytest.mark.django_db
async def test_the_socket_session_middleware_still_resolves_the_session() -> None:
    seen: dict[str, Any] = {}
    sent: list[object] = []

    async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen["session_key"] = scope["session"].session_key
        seen["send"] = send

    async def send(message: object) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {}

    app = CookieMiddleware(perf_channels.SocketSessionMiddleware(inner))
    scope = {"type": "websocket", "headers": [(b"cookie", b"sessionid=abc")]}
    await app(scope, receive, send)
    why = revisit(CHANNELS, "channels", "InstanceSessionWrapper (scope, resolve_session)")
    assert seen["session_key"] is None, why  # an unknown key: a fresh, empty session
    assert seen["send"] is send, why
