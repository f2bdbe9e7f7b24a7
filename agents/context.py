"""Prompt assembly as pure functions: dataclasses in, chat messages out; no ORM, no I/O.

Everything before the dynamic tail is byte-identical between turns while no input file changed,
so provider prompt caches hit. Untrusted text (messages, tool output) never enters the system
prompt: it travels in user/assistant/tool messages only.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agents.transcripts import Entry
from agents.workspace import WorkspaceFile

CHARS_PER_TOKEN = 4
TRUNCATION_NOTICE = "\n\n[… {name} truncated: {omitted} of {total} characters not shown …]"


@dataclass(frozen=True, slots=True)
class PromptInputs:
    agent_name: str
    instructions: str
    files: Sequence[WorkspaceFile]
    file_cap: int
    now: str
    channel: str
    session_key: str
    sender: str = ""


def estimate_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + 1


def cap_text(name: str, text: str, cap: int) -> str:
    if len(text) <= cap:
        return text
    return text[:cap] + TRUNCATION_NOTICE.format(
        name=name, omitted=len(text) - cap, total=len(text)
    )


def stable_prefix(inputs: PromptInputs) -> str:
    """The cacheable part of the system prompt: identity, instructions, workspace files."""
    parts = [f"You are {inputs.agent_name}, an AI agent reached through the openclaw gateway."]
    if inputs.instructions.strip():
        parts.append(inputs.instructions.strip())
    for file in inputs.files:
        body = cap_text(file.name, file.content.strip(), inputs.file_cap)
        if body:
            parts.append(f"## {file.name}\n{body}")
    return "\n\n".join(parts)


def dynamic_tail(inputs: PromptInputs) -> str:
    tail = f"Now: {inputs.now}. Channel: {inputs.channel}. Session: {inputs.session_key}."
    if inputs.sender:
        tail += f" Sender: {inputs.sender}."
    return tail


def history_messages(entries: Sequence[Entry], budget_tokens: int) -> list[dict[str, Any]]:
    """The newest user/assistant messages that fit in the budget, oldest first."""
    picked: list[dict[str, Any]] = []
    spent = 0
    for entry in reversed(entries):
        if entry["type"] != "message" or entry.get("role") not in ("user", "assistant"):
            continue
        if entry.get("meta", {}).get("skipped"):  # accepted but never run (aborted in queue)
            continue
        content = entry.get("content", "")
        cost = estimate_tokens(content) + 4
        if spent + cost > budget_tokens:
            break
        spent += cost
        picked.append({"role": entry["role"], "content": content})
    picked.reverse()
    # A history that opens with an assistant reply confuses some chat templates.
    while picked and picked[0]["role"] != "user":
        picked.pop(0)
    return picked


def build_messages(
    inputs: PromptInputs,
    history: Sequence[Entry],
    user_text: str,
    *,
    context_window: int,
    output_reserve: int,
) -> list[dict[str, Any]]:
    system = stable_prefix(inputs) + "\n\n" + dynamic_tail(inputs)
    budget = context_window - output_reserve - estimate_tokens(system) - estimate_tokens(user_text)
    return [
        {"role": "system", "content": system},
        *history_messages(history, max(budget, 0)),
        {"role": "user", "content": user_text},
    ]
