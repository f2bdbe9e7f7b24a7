"""Our OpenAI-shaped prompt as Anthropic's Messages API wants it (pure): system messages as the
top-level `system`, tool specs as Anthropic tools, assistant `tool_calls` as `tool_use` blocks,
`tool` messages as `tool_result` blocks, OpenAI `image_url` parts (data URLs) as base64 image
blocks, and `cache_control` breakpoints on the stable prefix (tools + system) and on the last
history block. The transcript stays OpenAI-shaped."""

import json
from collections.abc import Sequence
from typing import Any

Block = dict[str, Any]
CACHE = {"type": "ephemeral"}
STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
}


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _blocks(content: object) -> list[Block]:
    text = _text(content)  # Anthropic refuses empty or blank text blocks
    return [{"type": "text", "text": text}] if text.strip() else []


def _user_blocks(content: object) -> list[Block]:
    """A user message's blocks: its text, then its images (a data URL's type and base64 data;
    an image given by address is left out: the text names it)."""
    blocks = _blocks(content)
    for part in content if isinstance(content, list) else ():
        url = part.get("image_url", {}).get("url", "") if isinstance(part, dict) else ""
        head, _, data = str(url).partition(",")
        if head.startswith("data:") and head.endswith(";base64") and data:
            source = {"type": "base64", "media_type": head[5:-7], "data": data}
            blocks.append({"type": "image", "source": source})
    return blocks


def _arguments(raw: object) -> dict[str, Any]:
    """A tool call's arguments as an object: Anthropic takes `input` as JSON, not text."""
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw) if isinstance(raw, str) and raw.strip() else {}
    except ValueError:
        return {"_unparsed": raw}
    return value if isinstance(value, dict) else {"value": value}


def _turn(message: dict[str, Any]) -> tuple[str, list[Block]]:
    role = message.get("role")
    if role == "tool":
        result: Block = {
            "type": "tool_result",
            "tool_use_id": str(message.get("tool_call_id") or ""),
            "content": _text(message.get("content")) or "(no output)",
        }
        return "user", [result]
    if role == "assistant":
        blocks = _blocks(message.get("content"))
        for call in message.get("tool_calls") or ():
            fn = call.get("function") or {}
            blocks.append(
                {
                    "type": "tool_use",
                    "id": str(call.get("id") or ""),
                    "name": str(fn.get("name") or ""),
                    "input": _arguments(fn.get("arguments")),
                }
            )
        return "assistant", blocks
    return "user", _user_blocks(message.get("content"))


def messages(prompt: Sequence[dict[str, Any]]) -> tuple[list[Block], list[Block]]:
    """(system blocks, messages). Consecutive turns of one role are merged (tool results and the
    user message after them are one user turn to Anthropic); empty turns are dropped."""
    system: list[Block] = []
    turns: list[Block] = []
    for message in prompt:
        if message.get("role") in ("system", "developer"):
            system.extend(_blocks(message.get("content")))
            continue
        role, blocks = _turn(message)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    if turns and turns[0]["role"] == "assistant":  # the API wants a user turn first
        turns.insert(0, {"role": "user", "content": [{"type": "text", "text": "(continued)"}]})
    if system:
        system[-1] = system[-1] | {"cache_control": CACHE}
    if turns:
        last = turns[-1]["content"]
        last[-1] = last[-1] | {"cache_control": CACHE}
    return system, turns


def tools(specs: Sequence[dict[str, Any]]) -> list[Block]:
    """OpenAI function specs as Anthropic tools; the last one carries the prefix's breakpoint."""
    out: list[Block] = []
    for spec in specs:
        fn = spec.get("function", spec)
        out.append(
            {
                "name": fn["name"],
                "description": fn.get("description", ""),
                "input_schema": fn.get("parameters") or {"type": "object", "properties": {}},
            }
        )
    if out:
        out[-1] = out[-1] | {"cache_control": CACHE}
    return out


def stop_reason(reason: str | None) -> str:
    return STOP_REASONS.get(reason or "", reason or "stop")
