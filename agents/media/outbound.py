"""The files an answer sends, read back from the run's transcript entries: each `send_file` call
that succeeded (its result names the stored copy), then each Markdown image link in the answer
that names a workspace or media file (the link leaves the text; the file goes out instead).

Deriving them from the transcript, as the text is, lets a delivery cut by a restart go on from
the journal's count of what was sent: text chunks first, then these files, in this order.
Blocking (it stats and types files): call it in a worker thread."""

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from agents.media.detect import detect
from agents.media.store import resolve
from agents.media.types import Kind
from agents.tools.base import ToolError
from agents.tools.files import resolve_in_workspace
from agents.transcripts import Entry

SEND_FILE = "send_file"
# The first words of a successful send_file result: the stored copy's path follows them.
QUEUED = "Will send"
# "Will send <path> (<display name>, <type>, <size> bytes) with your answer."
_QUEUED_PATH = re.compile(re.escape(QUEUED) + r" (media/\S+) \((.*), [^,()]+, [\d,]+ bytes\)")
IMAGE_LINK = re.compile(
    r"!\[(?P<alt>[^\]\n]*)\]\((?P<target><[^>\n]+>|[^)\s]+)(?:\s+\"[^\"\n]*\")?\)"
)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    """One file to upload: `path` is real and already confined (the workspace or the media
    folder); `mime` and `kind` come from its content; `name` is what the recipient sees."""

    path: Path
    mime: str
    kind: Kind
    name: str
    caption: str = ""


def answer_files(
    text: str,
    entries: Sequence[Entry],
    run_id: str,
    workspace: Path,
    *,
    agent: str,
    links: bool = True,
) -> tuple[str, list[OutgoingFile]]:
    """(the answer's text without the image links it turns into files, the files to send).
    `links`: whether image links may send files at all (the owner's sessions only: a link
    is text the model wrote, which a stranger's message may have steered); a link names an
    image (by content) in the workspace or in `agent`'s own media (as send_file), or stays
    text."""
    files = [*_sent_files(entries, run_id)]
    kept: list[str] = []
    last = 0
    for link in IMAGE_LINK.finditer(text) if links else ():
        found = _linked(link["target"].strip("<>"), link["alt"], workspace, agent)
        if found is None:
            continue
        files.append(found)
        kept.append(text[last : link.start()])
        last = link.end()
    if not kept:
        return text, files
    kept.append(text[last:])
    return re.sub(r"\n{3,}", "\n\n", "".join(kept)).strip(), files


def _sent_files(entries: Sequence[Entry], run_id: str) -> list[OutgoingFile]:
    captions: dict[str, str] = {}
    out: list[OutgoingFile] = []
    for entry in entries:
        if entry.get("run") != run_id:
            continue
        for call in entry.get("tool_calls", ()):
            function = call.get("function") or {}
            if function.get("name") == SEND_FILE:
                captions[str(call.get("id"))] = _caption(function.get("arguments"))
        meta = entry.get("meta", {})
        if entry["type"] != "tool_result" or meta.get("name") != SEND_FILE or not meta.get("ok"):
            continue
        queued = _QUEUED_PATH.match(entry.get("content", ""))
        if queued is None:
            continue
        try:
            path = resolve(queued[1])
        except (ValueError, OSError):
            continue  # gone since (retention): nothing to send
        name = queued[2] or Path(queued[1]).name
        found = _typed(path, name, captions.get(str(meta.get("call_id")), ""))
        out.append(found)
    return out


def _caption(arguments: object) -> str:
    try:
        args = json.loads(arguments) if isinstance(arguments, str) else arguments
    except ValueError:
        return ""
    caption = args.get("caption") if isinstance(args, dict) else None
    return caption.strip() if isinstance(caption, str) else ""


def _linked(target: str, alt: str, workspace: Path, agent: str) -> OutgoingFile | None:
    """The file an image link names, if it is this agent's and small enough to send."""
    if not target or _SCHEME.match(target) or target.startswith(("/", "#")):
        return None
    if target.startswith("media/") and not target.startswith(f"media/{agent}/"):
        return None  # another agent's media: its chats' files, not this one's to send
    try:
        path = resolve(target) if target.startswith("media/") else None
        path = path or resolve_in_workspace(workspace, target)
    except (ValueError, OSError, ToolError):
        return None
    if not path.is_file() or path.stat().st_size > settings.OPENCLAW_MAX_ATTACHMENT_BYTES:
        return None
    found = _typed(path, path.name, alt.strip())
    return found if found.kind == "image" else None


def _typed(path: Path, name: str, caption: str) -> OutgoingFile:
    detected = detect(path, name)
    return OutgoingFile(path, detected.mime, detected.kind, name, caption)
