"""Every adapter reads an answer's file through `read_outgoing`: within its platform's limit,
and a file gone since the answer named it is a permanent AdapterError, never an OSError."""

from pathlib import Path

import pytest

from agents.media.outbound import OutgoingFile
from gateway.adapters.base import AdapterError, read_outgoing


def outgoing(path: Path) -> OutgoingFile:
    return OutgoingFile(path, "image/png", "image", "chart.png")


def test_the_bytes_within_the_limit(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"x" * 10)
    assert read_outgoing(outgoing(tmp_path / "a.png"), 10, "too big") == b"x" * 10


def test_over_the_limit_is_permanent(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"x" * 11)
    with pytest.raises(AdapterError, match="too big") as error:
        read_outgoing(outgoing(tmp_path / "a.png"), 10, "too big")
    assert error.value.permanent


def test_a_file_gone_is_permanent(tmp_path: Path) -> None:
    with pytest.raises(AdapterError, match=r"chart\.png cannot be read") as error:
        read_outgoing(outgoing(tmp_path / "gone.png"), 10, "too big")
    assert error.value.permanent
