"""The media store: type by content, the cap before and while streaming, bombs refused before
decoding, generated names (the sender's name never becomes a path), and `resolve` confined."""

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from agents.media import store
from agents.media.types import Media, MediaRefused
from tests.media import samples


@pytest.fixture(autouse=True)
def home(tmp_path: Path) -> Iterator[Path]:
    with override_settings(OPENCLAW_HOME=tmp_path, OPENCLAW_MAX_ATTACHMENT_BYTES=64 * 1024):
        yield tmp_path


def leftovers(home: Path) -> list[str]:
    return sorted(p.name for p in home.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    ("data", "claimed", "mime", "kind", "suffix"),
    [
        (samples.jpeg(), "image/jpeg", "image/jpeg", "image", ".jpg"),
        (samples.png(), "", "image/png", "image", ".png"),
        (samples.wav(), "audio/wav", "audio/wav", "audio", ".wav"),
        (samples.ogg_voice(), "audio/ogg", "audio/ogg", "audio", ".ogg"),
        (samples.pdf("hello"), "application/pdf", "application/pdf", "document", ".pdf"),
        (b"just some notes\n", "text/plain", "text/plain", "document", ".txt"),
        (os.urandom(512), "", "application/octet-stream", "other", ".bin"),
    ],
)
def test_type_comes_from_the_content(
    data: bytes, claimed: str, mime: str, kind: str, suffix: str
) -> None:
    media = store.store_bytes("main", data, name="whatever.dat", claimed_mime=claimed)
    assert (media.mime, media.kind, media.size) == (mime, kind, len(data))
    assert media.path.endswith(suffix) and media.path.startswith("media/main/")
    assert store.resolve(media.path).read_bytes() == data


def test_audio_and_video_containers_are_one_family() -> None:
    # An .m4a voice memo and an .mp4 video share a container: neither claim is "mislabelled".
    mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
    media = store.store_bytes("main", mp4, name="memo.m4a", claimed_mime="audio/mp4")
    assert media.kind == "video"


def test_a_text_claim_names_the_text_kind_only_for_text() -> None:
    assert store.store_bytes("main", b"a,b\n1,2\n", name="t.csv").mime == "text/csv"
    assert store.store_bytes("main", b'{"a": 1}', name="t.json").mime == "application/json"
    assert store.store_bytes("main", b"# Title\n", name="t.md").mime == "text/markdown"


@pytest.mark.parametrize(
    ("data", "name", "claimed", "reason"),
    [
        (samples.exe(), "cat.jpg", "image/jpeg", "type"),  # a program is refused whatever it says
        (samples.exe(), "setup.exe", "", "type"),
        (samples.pdf("x"), "photo.jpg", "image/jpeg", "mislabelled"),
        (samples.jpeg(), "report.pdf", "application/pdf", "mislabelled"),
        (os.urandom(400) + b"\x00", "notes.txt", "text/plain", "mislabelled"),
        (samples.png_bomb(), "huge.png", "image/png", "bomb"),
        (b"", "empty.txt", "", "unreadable"),
    ],
)
def test_refusals_say_why_and_leave_nothing(
    home: Path, data: bytes, name: str, claimed: str, reason: str
) -> None:
    with pytest.raises(MediaRefused) as refused:
        store.store_bytes("main", data, name=name, claimed_mime=claimed)
    assert refused.value.reason == reason
    assert name in str(refused.value)
    assert leftovers(home) == []


def test_a_bomb_is_refused_from_its_header_without_decoding() -> None:
    bomb = samples.png_bomb(60_000, 60_000)  # 3.6 gigapixels: decoding would take ~10 GB
    assert len(bomb) < 2000
    with pytest.raises(MediaRefused, match="more pixels than I decode"):
        store.store_bytes("main", bomb, name="huge.png")


async def _chunks(total: int, size: int, seen: list[int]) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        seen.append(piece)
        sent += piece
        yield b"a" * piece


@pytest.mark.django_db
async def test_the_cap_stops_a_stream_while_it_is_written(home: Path) -> None:
    seen: list[int] = []
    with pytest.raises(MediaRefused) as refused:
        await store.store_stream(
            "main", _chunks(10 * 64 * 1024, 4096, seen), name="big.txt", claimed_mime="text/plain"
        )
    assert refused.value.reason == "too_large" and "limit is 64 KB" in str(refused.value)
    assert sum(seen) <= 64 * 1024 + 4096  # stopped at the cap, not after reading everything
    assert leftovers(home) == []


@pytest.mark.django_db
async def test_a_declared_size_over_the_cap_is_refused_before_any_byte() -> None:
    seen: list[int] = []
    with pytest.raises(MediaRefused, match=r"is 1\.0 MB; the limit is 64 KB"):
        await store.store_stream(
            "main", _chunks(100, 100, seen), name="clip.mp4", declared_size=1024 * 1024
        )
    assert seen == []


@pytest.mark.django_db
async def test_a_stream_is_stored_whole_with_its_hash() -> None:
    import hashlib

    data = samples.jpeg(40, 30)

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 100):
            yield data[start : start + 100]

    media = await store.store_stream("main", pieces(), name="cat.jpg", claimed_mime="image/jpeg")
    assert media.sha256 == hashlib.sha256(data).hexdigest()
    assert store.resolve(media.path).read_bytes() == data
    assert Media.from_dict(media.as_dict()) == media


def test_the_senders_name_never_becomes_a_path(home: Path) -> None:
    media = store.store_bytes("main", b"hello\n", name="../../../etc/passwd\nx.txt")
    stored = store.resolve(media.path)
    assert stored.parent.parent.parent == home / "media"
    assert "passwd" not in media.path and ".." not in media.path
    assert media.name == "passwd x.txt"  # a display name: one line, no folders
    assert len(Path(media.path).stem) == 20  # random hex


@pytest.mark.parametrize(
    "path", ["", "/etc/passwd", "media/../openclaw.sqlite3", "sessions/main/x.jsonl", "media"]
)
def test_resolve_refuses_paths_outside_the_media_folder(path: str) -> None:
    with pytest.raises(ValueError, match="media"):
        store.resolve(path)


def test_resolve_refuses_a_symlink_leading_out(home: Path) -> None:
    (home / "media" / "main").mkdir(parents=True)
    (home / "secret.txt").write_text("s")
    (home / "media" / "main" / "link.txt").symlink_to(home / "secret.txt")
    with pytest.raises(ValueError, match="leads outside the media folder"):
        store.resolve("media/main/link.txt")


def test_a_missing_file_is_not_found() -> None:
    with pytest.raises(FileNotFoundError):
        store.resolve("media/main/2026-01-01/nothere.jpg")
