"""Text of a stored document for the model: plain text, Markdown, CSV and JSON as they are, PDF
through pypdf's text layer; cut at a character cap with a visible notice. Blocking: callers run
it in a worker thread."""

import logging
from pathlib import Path

from agents.media.types import TEXT_MIMES

logger = logging.getLogger(__name__)

TRUNCATED = "\n[… {omitted:,} more characters not shown; read_media reads further …]"


def extractable(mime: str) -> bool:
    return mime in TEXT_MIMES


def extract_text(path: Path, mime: str, cap: int, offset: int = 0) -> str:
    """Up to `cap` characters of the document's text from character `offset`, with a notice
    when more follows. Raises `ValueError` for a document whose text cannot be read (a damaged
    or encrypted PDF, bytes that are not UTF-8)."""
    if mime == "application/pdf":
        text = _pdf_text(path, offset + cap + 1)
    else:
        with open(path, "rb") as handle:
            raw = handle.read((offset + cap + 1) * 4)  # UTF-8: at most 4 bytes a character
        text = raw.decode("utf-8", errors="replace")
    piece = text[offset : offset + cap]
    if len(text) > offset + cap:
        rest = _total(path, mime, len(text)) - offset - cap
        piece += TRUNCATED.format(omitted=max(rest, 1))
    return piece


def _total(path: Path, mime: str, known: int) -> int:
    """How many characters the whole document has (a lower bound for a PDF: it is not read past
    what was needed)."""
    if mime == "application/pdf":
        return known
    return len(path.read_bytes().decode("utf-8", errors="replace"))


def _pdf_text(path: Path, enough: int) -> str:
    """The PDF's text, page by page, stopping once `enough` characters are there."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise ValueError("the PDF is encrypted")
        pages: list[str] = []
        size = 0
        for number, page in enumerate(reader.pages, start=1):
            text = page.extract_text() or ""
            pages.append(f"[page {number}]\n{text.strip()}")
            size += len(pages[-1]) + 2
            if size >= enough:
                break
    except (PyPdfError, KeyError, IndexError, TypeError, AttributeError, RecursionError) as error:
        # A damaged file makes pypdf fail in many ways, not only with its own errors.
        raise ValueError(f"the PDF cannot be read ({error or type(error).__name__})") from error
    return "\n\n".join(pages)
