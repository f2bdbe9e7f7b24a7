"""A file's type from its bytes (puremagic's signature table, then a UTF-8 text check), never
from what the sender claims; the claim is only compared with it, to refuse a mislabelled file.
Plain functions doing blocking file reads: callers run them in a worker thread."""

import json
import mimetypes
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import puremagic
from PIL import Image

from agents.media.types import Kind, MediaRefused, kind_of

TEXT_PROBE = 64 * 1024
# Programs are never stored: nothing here runs them, but nobody should be handed one either.
EXECUTABLES = frozenset(
    {
        "application/x-dosexec",
        "application/x-msdownload",
        "application/vnd.microsoft.portable-executable",
        "application/x-executable",
        "application/x-elf",
        "application/x-sharedlib",
        "application/x-mach-binary",
        "application/x-msi",
        "application/x-ms-installer",
        "application/vnd.android.package-archive",
        "application/java-archive",
        "application/x-iso9660-appimage",
    }
)
# Windows (MZ), ELF and Mach-O programs, whatever else a signature table finds in them.
PROGRAM_SIGNATURES = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
)
EXECUTABLE_EXTENSIONS = frozenset({".exe", ".dll", ".msi", ".com", ".scr", ".elf", ".apk", ".jar"})
TEXT_EXTENSIONS = {".md": "text/markdown", ".markdown": "text/markdown", ".csv": "text/csv"}
# Image formats a model takes as input (OpenAI and Anthropic alike).
MODEL_IMAGES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


@dataclass(frozen=True, slots=True)
class Detected:
    mime: str
    extension: str  # with its dot, from the content: the stored file's suffix

    @property
    def kind(self) -> Kind:
        return kind_of(self.mime)


def detect(path: Path, claimed_name: str = "") -> Detected:
    """The type of the file at `path`. Text without a signature (txt, md, csv, json) is told
    apart by the claimed name's extension only when the bytes are valid UTF-8 text, so the
    claim can never turn a binary into "text". Unknown binary content is
    application/octet-stream."""
    with open(path, "rb") as handle:
        head = handle.read(TEXT_PROBE)
    if head.startswith(PROGRAM_SIGNATURES):
        return Detected("application/x-executable", ".bin")
    try:
        matches = puremagic.magic_file(str(path))
    except (puremagic.PureError, ValueError, OSError):
        matches = []
    for match in sorted(matches, key=lambda m: -m.confidence):
        mime = match.mime_type or mimetypes.types_map.get(match.extension.lower(), "")
        if mime.startswith("text/") or mime == "application/octet-stream":
            break  # text has no signature: told apart below, by the claimed extension
        if mime:
            mime = _canonical(mime)
            extension = _EXTENSIONS.get(mime) or match.extension.lower() or ".bin"
            return Detected(mime, extension)
    if _is_text(head):
        suffix = PurePosixPath(claimed_name).suffix.lower()
        if suffix == ".json" and _is_json(path):
            return Detected("application/json", ".json")
        if suffix in TEXT_EXTENSIONS:
            return Detected(TEXT_EXTENSIONS[suffix], suffix)
        return Detected("text/plain", ".txt")
    return Detected("application/octet-stream", ".bin")


def check(detected: Detected, claimed_mime: str, claimed_name: str, shown: str) -> None:
    """Refuse programs, and a file that is not what it claims (an image, audio, video or PDF
    claim whose bytes are something else; a text claim whose bytes are binary). `shown` names
    the file in the message. Raises `MediaRefused`."""
    suffix = PurePosixPath(claimed_name).suffix.lower()
    program = detected.mime in EXECUTABLES or "executable" in detected.mime
    if program or suffix in EXECUTABLE_EXTENSIONS:
        raise MediaRefused(f"{shown} is a program; I do not accept those.", reason="type")
    claimed = _canonical(claimed_mime.split(";")[0].strip().lower())
    if not claimed or claimed == "application/octet-stream":
        claimed = mimetypes.types_map.get(suffix, "") or TEXT_EXTENSIONS.get(suffix, "")
    if not claimed:
        return
    claimed_family, detected_family = _family(kind_of(claimed)), _family(detected.kind)
    specific = claimed_family in ("image", "audio/video") or claimed == "application/pdf"
    wrong = (specific and claimed_family != detected_family) or (
        claimed == "application/pdf" and detected.mime != "application/pdf"
    )
    if claimed.startswith("text/") and detected.mime == "application/octet-stream":
        wrong = True
    if wrong:
        raise MediaRefused(
            f"{shown} says it is {claimed} but its content is {detected.mime}; I did not take it.",
            reason="mislabelled",
        )


def _family(kind: Kind) -> str:
    """Audio and video are one family here: their containers (MP4, WebM, Ogg) carry either,
    and a signature table cannot tell an .m4a voice memo from a video."""
    return "audio/video" if kind in ("audio", "video") else kind


def check_image(path: Path, max_pixels: int, shown: str) -> tuple[int, int]:
    """The image's (width, height) from its header; raises `MediaRefused` for more than
    `max_pixels` (a decompression bomb: small file, huge bitmap) or an unreadable header.
    `Image.open` reads the header only: nothing is decoded here."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
    except Image.DecompressionBombError as error:
        raise MediaRefused(
            f"{shown} declares more pixels than I decode ({max_pixels:,}); send a smaller image.",
            reason="bomb",
        ) from error
    except (OSError, ValueError, SyntaxError) as error:
        raise MediaRefused(f"{shown} is not a readable image.", reason="unreadable") from error
    if width * height > max_pixels:
        raise MediaRefused(
            f"{shown} is {width}x{height} pixels, more than the {max_pixels:,} I decode; "
            "send a smaller image.",
            reason="bomb",
        )
    return width, height


_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "audio/x-wav": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/mp3": "audio/mpeg",
    "audio/x-m4a": "audio/mp4",
    "audio/opus": "audio/ogg",
    "application/x-pdf": "application/pdf",
    "text/x-markdown": "text/markdown",
}


# The usual suffix where a signature table offers several (".jfif", ".opus", ".jpe").
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "video/mp4": ".mp4",
    "application/pdf": ".pdf",
}


def _canonical(mime: str) -> str:
    return _ALIASES.get(mime, mime)


def _is_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start >= len(head) - 3  # only a character cut at the probe's end
    return True


def _is_json(path: Path) -> bool:
    try:
        json.loads(path.read_bytes())
    except (ValueError, RecursionError):
        return False
    return True
