"""Files that come with a platform message: fetched with the account's adapter, stored
(`agents.media.store`), described for the model (`agents.media.prepare`) and written down in
the journal, so a crash in between fetches again and a crash after reuses what was stored.

The router calls `receive` after the message was journaled and admitted and before its turn is
queued; refusals (over the cap, a refused or mislabelled type, a failed download) go back to
the sender at once while the text still runs."""

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from agents.media.prepare import compose, describe
from agents.media.store import shown_name, store_stream
from agents.media.types import Media, MediaRefused
from agents.models import Agent, ImageInput
from agents.services import SessionRef
from gateway import journal
from gateway.adapters.base import AdapterError
from gateway.messages import Attachment
from openclaw.perf import offload

logger = logging.getLogger(__name__)

Fetch = Callable[[Attachment], AsyncIterator[bytes]]


@dataclass(frozen=True, slots=True)
class Received:
    """What a message with files becomes: `text` for the turn (the caption, then one section
    per file), the stored files as `Media` dicts, the agent's image mode for them ("" when the
    images are not to be shown: `off`, or no image), and what to tell the sender now."""

    text: str
    media: tuple[dict[str, Any], ...] = ()
    image_input: str = ""
    refusals: tuple[str, ...] = ()

    @property
    def runs(self) -> bool:
        """Whether a turn is left to run (some text, or a file that was taken)."""
        return bool(self.text.strip())


async def receive(
    record: int,
    text: str,
    attachments: Sequence[Attachment],
    agent_slug: str,
    image_input: str,
    fetch: Fetch,
) -> Received:
    """Fetch, store and describe each attachment, then journal the outcome on `record` (the
    turn's text and the stored files). Never raises for a file: each failure (the
    type, the cap, the download, the disk) is a refusal."""
    sections: list[str] = []
    stored: list[Media] = []
    refusals: list[str] = []
    for attachment in attachments:
        try:
            media = await store_stream(
                agent_slug,
                fetch(attachment),
                name=attachment.name,
                claimed_mime=attachment.mime,
                declared_size=attachment.size,
            )
        except MediaRefused as refused:
            refusals.append(str(refused))
            sections.append(f"[A file was sent but not taken: {refused}]")
            continue
        except AdapterError as error:
            logger.warning("Fetching %s failed: %s", attachment.kind or "a file", error)
            said = f"I could not download {shown_name(attachment.name)}; please send it again."
            refusals.append(said)
            sections.append(f"[A file was sent but could not be downloaded: {error}]")
            continue
        except OSError as error:  # the disk (full, unwritable): this file is lost, not the text
            logger.error("Storing %s failed: %s", attachment.kind or "a file", error)
            refusals.append(
                f"I could not store {shown_name(attachment.name)}; please send it again."
            )
            sections.append("[A file was sent but not stored: the gateway's disk refused it]")
            continue
        stored.append(media)
        sections.append(await describe(media))
    images = any(m.kind == "image" for m in stored) and image_input != ImageInput.OFF
    received = Received(
        compose(text, sections) if stored or text.strip() else "",
        tuple(m.as_dict() for m in stored),
        image_input if images else "",
        tuple(refusals),
    )
    await offload.database(
        journal.note_received, record, received.text, list(received.media), received.image_input
    )
    return received


async def resumed(
    record: int, text: str, media: dict[str, Any], session: SessionRef, fetch: Fetch
) -> Received:
    """A journal entry resumed after a restart: its stored files as they were received, or,
    when a crash came before they were, fetched again now (`InboundRecord.media`)."""
    if media.get("received"):
        stored = tuple(m for m in media.get("stored", ()) if Media.from_dict(m) is not None)
        return Received(text, stored, str(media.get("image_input", "")))
    claimed = [Attachment.from_dict(a) for a in media.get("claimed", ()) if isinstance(a, dict)]
    if not claimed:
        return Received(text)
    slug = session.agent.slug
    mode = await offload.database(image_mode, slug)
    return await receive(record, text, claimed, slug, mode, fetch)


def image_mode(agent_slug: str) -> str:
    """The agent's `image_input` (auto/on/off); "auto" for an agent that is gone."""
    mode = Agent.objects.filter(slug=agent_slug).values_list("image_input", flat=True).first()
    return str(mode or ImageInput.AUTO)
