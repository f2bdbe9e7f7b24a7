"""The files an answer sends on a platform (`agents.media.outbound` reads them from the run's
transcript entries), and what the sender is told when the platform refuses one."""

import logging
from pathlib import Path

from channels.db import database_sync_to_async

from agents import services
from agents.media.outbound import IMAGE_LINK, SEND_FILE, OutgoingFile, answer_files
from agents.transcripts import read_entries_async
from agents.trust import session_trust
from openclaw.perf import offload

logger = logging.getLogger(__name__)


def may_send_files(text: str, tools_called: set[str]) -> bool:
    """Whether an answer may carry files: a `send_file` call in its run, or an image link in
    its text (the cheap test that spares every other answer a transcript read)."""
    return SEND_FILE in tools_called or IMAGE_LINK.search(text) is not None


async def with_files(session_key: str, run: str, text: str) -> tuple[str, list[OutgoingFile]]:
    """(the text to send, the files to send after it) for the run's answer `text`."""
    try:
        session = await database_sync_to_async(services.find_session)(session_key)
    except services.NotFound:
        return text, []
    entries = await read_entries_async(Path(session.transcript))
    workspace = Path(session.agent.workspace)
    owner = session_trust(session.key, is_group=session.is_group) == "owner"
    found: tuple[str, list[OutgoingFile]] = await offload.files(
        answer_files, text, entries, run, workspace, agent=session.agent.slug, links=owner
    )
    return found


def refused_notice(file: OutgoingFile, reason: str) -> str:
    """What the chat reads when the platform would not take a file (permanently)."""
    return f"⚠️ I could not send {file.name}: {reason}"
