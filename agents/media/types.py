"""The `Media` reference (what transcripts and the journal keep of a stored file, never its
bytes) and `MediaRefused`, the one way a file is turned away."""

from dataclasses import asdict, dataclass
from typing import Any, Literal

Kind = Literal["image", "audio", "video", "document", "other"]
KINDS: tuple[Kind, ...] = ("image", "audio", "video", "document", "other")

# Documents we read as text: their text goes into the turn (within OPENCLAW_MEDIA_TEXT_CHARS).
TEXT_MIMES = frozenset(
    {"text/plain", "text/markdown", "text/csv", "application/json", "application/pdf"}
)
DOCUMENT_MIMES = TEXT_MIMES | {
    "application/msword",
    "application/rtf",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.ms-excel",
    "application/epub+zip",
}


def kind_of(mime: str) -> Kind:
    """The broad kind of a MIME type (image/audio/video/document/other)."""
    head = mime.partition("/")[0]
    if head in ("image", "audio", "video"):
        return head  # type: ignore[return-value]  # one of the three literals, checked above
    if mime in DOCUMENT_MIMES or head == "text":
        return "document"
    return "other"


class MediaRefused(Exception):
    """A file was not taken. `str(error)` is the message for the user (it names the file by its
    display name and says why: too large, a type we refuse or that is not what it claims, an
    image too large to decode safely). `reason` is a stable code for logs and tests:
    "too_large", "type", "mislabelled", "bomb", "unreadable"."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Media:
    """A stored file. `path` is relative to OPENCLAW_HOME and always starts with "media/"
    (`store.resolve` turns it back into a real path, confined to the media folder); `mime` and
    `kind` come from the content; `name` is the sender's display name, shown to people and
    the model and NEVER used as a path; `sha256` is the content's hex digest."""

    path: str
    mime: str
    kind: Kind
    size: int
    sha256: str
    name: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The JSON form kept in transcript entries (`meta.media`) and the journal."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> "Media | None":
        """A reference read back from JSON; None for anything malformed (hand-edited files)."""
        if not isinstance(data, dict):
            return None
        path, mime, kind = data.get("path"), data.get("mime"), data.get("kind")
        size, digest, name = data.get("size"), data.get("sha256"), data.get("name", "")
        if not (isinstance(path, str) and path.startswith("media/") and isinstance(mime, str)):
            return None
        if kind not in KINDS or not isinstance(size, int) or not isinstance(digest, str):
            return None
        return cls(path, mime, kind, size, digest, name if isinstance(name, str) else "")

    def label(self) -> str:
        """One line for notes: `photo.jpg (media/main/2026-12-08/3f…c1.jpg, image/jpeg, 34 KB)`."""
        where = f"{self.path}, {self.mime}, {human_size(self.size)}"
        return f"{self.name} ({where})" if self.name else where


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
