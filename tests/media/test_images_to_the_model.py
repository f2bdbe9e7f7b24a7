"""Images to the model: the current turn's images as content parts (never earlier turns'),
an agent's `auto` mode learning from a provider that refuses images, `on` not hiding that
error, Anthropic image blocks, and the context's parts and token estimate."""

import base64
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from agents import anthropic_format
from agents.context import estimate_tokens, turn_blocks
from agents.llm import Message, ModelError, ModelSettings, TextDelta
from agents.llm_chat import ProviderChatModel
from agents.llm_openai import _no_images
from agents.media import store
from agents.media.parts import with_images
from agents.transcripts import Entry
from tests.fakes.openai_server import Error, FakeOpenAI, Text, image_urls
from tests.media import samples

REFUSAL = "Invalid content type. image_url is only supported by certain models."


@pytest.fixture(autouse=True)
def home(tmp_path: Path) -> Iterator[Path]:
    _no_images.clear()
    with override_settings(OPENCLAW_HOME=tmp_path):
        yield tmp_path
    _no_images.clear()


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
async def model() -> AsyncIterator[ProviderChatModel]:
    chat = ProviderChatModel()
    yield chat
    await chat.aclose()


def call(base_url: str) -> ModelSettings:
    return ModelSettings(
        model="gpt-fake", base_url=base_url, api_key="sk-test", api_key_env="OPENAI_API_KEY"
    )


def user(text: str, run: str, media: list[dict[str, Any]] | None = None, mode: str = "") -> Entry:
    meta: dict[str, Any] = {}
    if media:
        meta["media"] = media
    if mode:
        meta["image_input"] = mode
    entry: Entry = {"type": "message", "ts": "2026-12-08T10:00:00+00:00", "role": "user"}
    entry["content"], entry["run"] = text, run
    if meta:
        entry["meta"] = meta
    return entry


def image_message(mode: str) -> Message:
    part = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    content = [{"type": "text", "text": "what is it?\n\n[Image: a.png]"}, part]
    return {"role": "user", "content": content, "image_input": mode}


def refuse_images(body: dict[str, Any]) -> Error | Text:
    if image_urls(body):
        return Error(400, REFUSAL, "invalid_request_error")
    return Text("a text-only answer")


@pytest.mark.django_db
def test_only_the_current_turns_images_are_loaded(home: Path) -> None:
    old = store.store_bytes("main", samples.png(), name="old.png").as_dict()
    new_data = samples.jpeg()
    new = store.store_bytes("main", new_data, name="new.jpg").as_dict()
    entries = [user("first", "r1", [old], "auto"), user("second", "r2", [new], "auto")]
    loaded = with_images(entries)
    assert "image_parts" not in loaded[0].get("meta", {})
    [part] = loaded[1]["meta"]["image_parts"]
    assert (
        part["image_url"]["url"] == "data:image/jpeg;base64," + base64.b64encode(new_data).decode()
    )
    assert "image_parts" not in entries[1]["meta"]  # the transcript's entries are not changed
    blocks = turn_blocks(loaded)
    assert blocks[0][0]["content"] == "first"
    message = blocks[1][0]
    assert message["image_input"] == "auto"
    assert [p["type"] for p in message["content"]] == ["text", "image_url"]
    assert estimate_tokens(message["content"]) > 1000  # an image is not free


@pytest.mark.django_db
def test_images_are_not_loaded_when_the_agent_turned_them_off(home: Path) -> None:
    media = store.store_bytes("main", samples.png(), name="a.png").as_dict()
    entries = [user("look", "r1", [media], mode="")]
    assert with_images(entries) == entries


async def test_auto_learns_a_refusal_and_sends_the_text_alone(
    fake: FakeOpenAI, model: ProviderChatModel
) -> None:
    fake.script(refuse_images, refuse_images)
    settings = call(fake.base_url)
    events = [e async for e in model.stream([image_message("auto")], settings)]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "a text-only answer"
    first, second = [r.body for r in fake.requests]
    assert image_urls(first) and not image_urls(second)
    assert second["messages"][0]["content"] == "what is it?\n\n[Image: a.png]"
    assert all("image_input" not in m for m in first["messages"])  # ours, never sent
    # Learnt: the next call sends the text alone at once.
    [e async for e in model.stream([image_message("auto")], settings)]
    assert len(fake.requests) == 3 and not image_urls(fake.requests[2].body)


async def test_on_shows_the_refusal(fake: FakeOpenAI, model: ProviderChatModel) -> None:
    fake.script(refuse_images)
    with pytest.raises(ModelError, match="image_url is only supported"):
        [e async for e in model.stream([image_message("on")], call(fake.base_url))]
    assert len(fake.requests) == 1


def test_anthropic_gets_base64_image_blocks() -> None:
    _, turns = anthropic_format.messages([image_message("auto")])
    [turn] = turns
    assert turn["content"][0]["text"] == "what is it?\n\n[Image: a.png]"
    image = turn["content"][1]
    assert image["type"] == "image"
    assert image["source"] == {"type": "base64", "media_type": "image/png", "data": "AAAA"}


def test_read_media_images_follow_the_tool_results() -> None:
    call_entry: Entry = {
        "type": "message",
        "ts": "2026-12-08T10:00:01+00:00",
        "role": "assistant",
        "content": "",
        "run": "r1",
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "read_media", "arguments": "{}"}}
        ],
    }
    part = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    result: Entry = {
        "type": "tool_result",
        "ts": "2026-12-08T10:00:02+00:00",
        "content": "Showing the image media/main/x.png",
        "run": "r1",
        "meta": {"call_id": "c1", "name": "read_media", "ok": True, "image_parts": [part]},
    }
    [block] = turn_blocks([user("show me the old photo", "r1"), call_entry, result])
    assert [m["role"] for m in block] == ["user", "assistant", "tool", "user"]
    assert block[-1]["content"][1] == part
