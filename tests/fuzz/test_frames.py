"""Fuzzing the gateway socket: any frame gets a `res` (never a traceback or silence), and the
socket and its session lane stay usable afterwards."""

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.wsclient import ProtocolClient

pytestmark = [pytest.mark.django_db(transaction=True)]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
methods = st.sampled_from(
    [
        "health",
        "chat.abort",
        "sessions.list",
        "sessions.history",
        "sessions.reset",
        "exec.decide",
        "nope",
        "",
    ]
)
frames = st.one_of(
    st.text(max_size=200),
    values.map(json.dumps),
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["req", "res", "event", 1]),
            "id": st.one_of(st.text(max_size=10), st.integers()),
            "method": methods,
            "params": values,
        }
    ).map(json.dumps),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frame=frames)
async def test_any_frame_gets_an_answer_and_the_socket_stays_usable(
    client: ProtocolClient, frame: str
) -> None:
    await client.ws.send(frame)
    answer: dict[str, Any] = await client.frame()
    assert answer["type"] == "res"
    if not answer["ok"]:
        assert answer["error"]["code"] != "internal", answer
        assert "Traceback" not in answer["error"]["message"]
    health = await client.request("health")
    assert health["ok"]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(frames, min_size=1, max_size=8))
async def test_after_any_frames_the_main_session_still_answers_on_the_same_socket(
    client: ProtocolClient, batch: list[str]
) -> None:
    for frame in batch:  # aborts, resets, history reads … with random parameters
        await client.ws.send(frame)
        answer: dict[str, Any] = await client.frame()
        assert answer["type"] == "res"
    end, _ = await client.chat("still answering", session="agent:main:main")
    assert end["event"] == "chat.final", end  # the lane is not stuck
    assert end["data"]["text"] == "echo: still answering"
