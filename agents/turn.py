"""A turn as its host sees it: the request it hands `agents.loop.run_turn` (the user's
messages, the steering inbox, the host's hooks) and the outcome it gets back."""

from dataclasses import dataclass, field
from typing import Any

from agents.host import TurnHost
from agents.llm import ModelError
from agents.services import SessionRef
from agents.transcripts import Entry, Usage, make_entry


@dataclass(frozen=True, slots=True)
class Said:
    """A user message for a turn, and who sent it when the chat has several people ("" in a
    private chat): the model reads the name in the message's stamp (`context.stamp`).
    `origin` marks a message no person typed in this chat: another session's `sessions_send`,
    a reminder or a heartbeat; it is kept on the entry and shown wherever the entry is.
    `media`: the files that came with it (`agents.media.types.Media` dicts: references, never
    bytes), kept on the entry as `meta.media`; `image_input`: the agent's image mode ("auto" or
    "on") when its images go to the model as content parts in this turn, "" when they do not."""

    text: str
    sender: str = ""
    origin: str = ""
    media: tuple[dict[str, Any], ...] = ()
    image_input: str = ""

    def entry(self, run_id: str, **meta: Any) -> Entry:
        """Its transcript entry (`meta`: more to note on it)."""
        if self.sender:
            meta["sender"] = self.sender
        if self.origin:
            meta["origin"] = self.origin
        if self.media:
            meta["media"] = list(self.media)
        if self.image_input:
            meta["image_input"] = self.image_input
        return make_entry("message", role="user", content=self.text, run=run_id, meta=meta or None)


@dataclass
class Steering:
    """Messages that arrive while a turn runs (queue mode `steer`): read before each model call."""

    said: list[Said] = field(default_factory=list)

    def take(self) -> list[Said]:
        taken, self.said = self.said, []
        return taken


@dataclass(frozen=True, slots=True)
class TurnRequest:
    run_id: str
    session: SessionRef
    said: tuple[Said, ...]
    channel: str = "web"
    steering: Steering | None = None
    host: TurnHost = field(default_factory=TurnHost)


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    text: str
    stop_reason: str
    usage: Usage | None
    error: ModelError | None = None
