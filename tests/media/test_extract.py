"""Document text for the model: within the character cap, with a notice saying how much more
there is; PDF through its text layer; an unreadable PDF is a clear error."""

from pathlib import Path

import pytest

from agents.media.extract import extract_text
from tests.media import samples


def test_text_is_cut_at_the_cap_with_a_notice(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("é" * 50)
    text = extract_text(path, "text/plain", 20)
    assert text.startswith("é" * 20) and "30 more characters not shown" in text
    assert extract_text(path, "text/plain", 20, offset=40) == "é" * 10


def test_a_pdfs_text_layer_is_read(tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    path.write_bytes(samples.pdf("Hello from the PDF"))
    assert extract_text(path, "application/pdf", 1000) == "[page 1]\nHello from the PDF"


def test_a_damaged_pdf_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    path.write_bytes(b"%PDF-1.4\n" + b"\x00garbage" * 20)
    with pytest.raises(ValueError, match="cannot be read"):
        extract_text(path, "application/pdf", 1000)
