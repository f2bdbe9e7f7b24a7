"""The throttled in-memory layer still expires what it must, just not on every call."""

import asyncio

import pytest

from openclaw.perf import layers
from openclaw.perf.layers import GatewayInMemoryChannelLayer


async def test_expired_messages_are_dropped_by_the_next_sweep(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(layers, "SWEEP_SECONDS", 0.05)
    layer = GatewayInMemoryChannelLayer(expiry=0.01)
    await layer.group_add("g", "c1!x")
    await layer.send("c1!x", {"type": "stale"})
    await asyncio.sleep(0.1)
    await layer.group_send("other", {"type": "fresh"})  # group sends and receives sweep
    assert "c1!x" not in layer.channels
    assert "c1!x" not in layer.groups.get("g", {})  # an expired channel leaves its groups


async def test_sweeps_run_at_most_once_per_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layers, "SWEEP_SECONDS", 60)
    layer = GatewayInMemoryChannelLayer(expiry=0.01)
    await layer.send("c1!x", {"type": "m"})
    await layer.group_send("g", {"type": "m"})  # sweeps, and starts the interval
    await asyncio.sleep(0.05)
    await layer.group_send("g", {"type": "m"})
    assert "c1!x" in layer.channels  # expired, but the next sweep is not due yet


async def test_a_group_send_reaches_every_member_once_and_skips_a_full_one() -> None:
    layer = GatewayInMemoryChannelLayer(capacity=1)
    for channel in ("a!1", "b!2", "c!3"):
        await layer.group_add("g", channel)
    await layer.send("b!2", {"type": "earlier"})  # b is full now
    message: dict[str, object] = {"type": "gateway.event", "data": {"text": "hi"}}
    await layer.group_send("g", message)
    assert await layer.receive("a!1") == message
    assert await layer.receive("c!3") == message
    assert await layer.receive("b!2") == {"type": "earlier"}  # the full one missed it
    assert "a!1" not in layer.channels and "c!3" not in layer.channels  # once each: none left
    received = await _sent_copy(layer, message)
    assert received == message and received is not message  # a copy, as upstream


async def _sent_copy(layer: GatewayInMemoryChannelLayer, message: dict[str, object]) -> object:
    await layer.group_add("h", "d!4")
    await layer.group_send("h", message)
    return await layer.receive("d!4")
