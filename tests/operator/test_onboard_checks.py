"""`manage.py onboard` (issue 23, part 5): it makes an existing, too open state directory private
(0700, its secrets 0600), and checks each interactive answer as it is given, asking again
instead of failing at the end with every answer lost."""

import stat
from pathlib import Path

import pytest

from tests.fakes.openai_server import FakeOpenAI, Text
from tests.gateway_process import prepare_home
from tests.operator.test_onboard import PASSWORD, onboard, query


@pytest.fixture
def home(migrated_home: Path, tmp_path: Path) -> Path:
    return prepare_home(migrated_home, tmp_path / "home")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_onboard_makes_a_0755_home_and_its_secrets_private(home: Path) -> None:
    home.chmod(0o755)
    for name in ("openclaw.sqlite3", "secret_key"):
        (home / name).chmod(0o644)
    notes = home / "workspaces" / "main" / "MEMORY.md"  # not a secret: left as it is
    notes.chmod(0o644)

    proc = onboard(home, "--no-input", "--skip-model-check")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert mode(home) == 0o700
    assert mode(home / "openclaw.sqlite3") == 0o600 and mode(home / "secret_key") == 0o600
    assert mode(notes) == 0o644
    assert f"Made private   {home}: mode 0755 -> 0700" in proc.stdout
    assert f"{home / 'secret_key'}: mode 0644 -> 0600" in proc.stdout
    again = onboard(home, "--no-input", "--skip-model-check")
    assert "Made private" not in again.stdout  # nothing left to change


def test_interactive_onboarding_asks_again_after_each_bad_answer(
    home: Path, fake_openai: FakeOpenAI
) -> None:
    answers = [
        "no spaces allowed!",  # admin username: refused
        "ada",
        "not-an-email",  # refused
        "ada@example.com",
        "password",  # too common: asked again
        PASSWORD,
        "something else",  # the confirmation differs: the password is asked again
        PASSWORD,
        PASSWORD,
        "Not A Slug",  # agent slug: refused
        "",  # the default
        "Claw",
        "nope",  # unknown provider
        "custom",
        "",  # custom needs a base URL
        fake_openai.base_url,
        "gpt-fake",
        "HOME",  # not a *_API_KEY variable
        "",  # none
    ]
    fake_openai.script(Text("OK"))
    proc = onboard(home, stdin="\n".join(answers) + "\n")

    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    for refusal in (
        "Enter a valid username.",
        "Enter a valid email address.",
        "The admin password: This password is too common.",
        "The two passwords differ.",
        "Enter a valid “slug”",
        "Unknown provider 'nope'",
        "Provider custom needs a base URL",
        "must end in _API_KEY",
    ):
        assert refusal in out, f"{refusal!r} missing from:\n{out}"
    assert out.count("Please try again.") == 8
    assert out.count("Admin password: ") == 3
    assert "ada (created)" in out and "main (Claw)" in out
    assert PASSWORD not in out
    assert query(home, "SELECT username, email FROM auth_user") == [("ada", "ada@example.com")]
    assert query(home, "SELECT name, model, api_key_env FROM agents_agent") == [
        ("Claw", "gpt-fake", "")
    ]


def test_input_that_ends_while_asking_again_fails_cleanly(home: Path) -> None:
    proc = onboard(home, stdin="ada\nada@example.com\npassword\n")
    assert proc.returncode != 0
    assert "This password is too common." in proc.stdout
    assert "Input ended" in proc.stderr
    assert query(home, "SELECT count(*) FROM auth_user") == [(0,)]
