"""openclaw.environment: an empty variable means its default, whatever its type; a bad one
names itself; OPENCLAW_PUBLIC_URL gives the host, the origin and whether TLS is in front."""

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from openclaw.environment import Env, PublicURL, dotenv_path, public_url, state_secret


@pytest.mark.parametrize("empty", ["", "   "])
@pytest.mark.parametrize(
    ("read", "expected"),
    [
        (lambda env: env.str("V", default="x"), "x"),
        (lambda env: env.int("V", default=7), 7),
        (lambda env: env.float("V", default=0.5), 0.5),
        (lambda env: env.bool("V", default=True), True),
        (lambda env: env.list("V", default=["a", "b"]), ["a", "b"]),
        (lambda env: env.db_url("V", default="sqlite:////tmp/x.db")["ENGINE"],
         "django.db.backends.sqlite3"),
    ],
)  # fmt: skip
def test_an_empty_variable_means_its_default(
    monkeypatch: pytest.MonkeyPatch, empty: str, read: object, expected: object
) -> None:
    monkeypatch.setenv("V", empty)
    assert read(Env()) == expected  # type: ignore[operator]


def test_a_set_variable_wins_and_a_bad_one_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V", "42")
    assert Env().int("V", default=7) == 42
    monkeypatch.setenv("V", "4x2")
    with pytest.raises(ImproperlyConfigured, match=r"^V='4x2' is not a valid int\.$"):
        Env().int("V", default=7)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        ("https://claw.example.com", PublicURL("claw.example.com", "https://claw.example.com", True)),
        ("https://Claw.Example.com/", PublicURL("claw.example.com", "https://claw.example.com", True)),
        ("http://10.0.0.5:8080", PublicURL("10.0.0.5", "http://10.0.0.5:8080", False)),
        ("https://[2001:db8::1]:8443", PublicURL("[2001:db8::1]", "https://[2001:db8::1]:8443", True)),
    ],
)  # fmt: skip
def test_public_url_gives_host_origin_and_tls(value: str, expected: PublicURL | None) -> None:
    assert public_url(value) == expected


@pytest.mark.parametrize(
    "value",
    ["claw.example.com", "https://x.org/chat", "ws://x.org", "https://u:p@x.org", "https://"],
)
def test_a_public_url_that_cannot_work_is_refused(value: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"^OPENCLAW_PUBLIC_URL="):
        public_url(value)


def test_dotenv_is_the_chosen_file_else_the_checkouts_else_the_current_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout, installed = tmp_path / "checkout", tmp_path / "site-packages"
    checkout.mkdir()
    installed.mkdir()
    (checkout / "manage.py").touch()
    monkeypatch.chdir(tmp_path)
    assert dotenv_path("/etc/openclaw.env", checkout) == Path("/etc/openclaw.env")
    assert dotenv_path("", checkout) == checkout / ".env"
    assert dotenv_path(" ", installed) == tmp_path / ".env"


def test_a_state_secret_is_made_once_and_shared_by_processes_starting_together(
    tmp_path: Path,
) -> None:
    for attempt in range(20):
        home = tmp_path / str(attempt)
        home.mkdir()
        start = threading.Barrier(8)

        def read(home: Path = home, start: threading.Barrier = start) -> str:
            start.wait()
            return state_secret(home, "gateway.token")

        with ThreadPoolExecutor(8) as pool:
            seen = set(pool.map(lambda _: read(), range(8)))
        assert len(seen) == 1 and "" not in seen
        assert (home / "gateway.token").read_text().strip() in seen
        assert [p.name for p in home.iterdir()] == ["gateway.token"]  # no temporary file left
        assert (home / "gateway.token").stat().st_mode & 0o777 == 0o600


def test_a_blank_state_secret_left_by_a_crash_is_made_again(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("\n")
    value = state_secret(tmp_path, "secret_key", 50)
    assert len(value) >= 50 and (tmp_path / "secret_key").read_text() == value + "\n"
    assert state_secret(tmp_path, "secret_key", 50) == value
