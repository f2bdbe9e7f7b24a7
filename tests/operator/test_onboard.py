"""`manage.py onboard`, run as a real command: scripted and interactive set-up, idempotence,
and a model check against the fake OpenAI server that names each failure and its fix."""

import fcntl
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.openai_server import Error, FakeOpenAI, Hang, Text
from tests.gateway_process import ROOT, TOKEN, base_env, free_port, prepare_home

PASSWORD = "a-long-admin-passphrase-7"  # the test admin's password


def onboard(
    home: Path, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "onboard", *args],
        cwd=ROOT,
        env=base_env(home, **env),
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=120,
    )


def query(home: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(home / "openclaw.sqlite3") as db:
        return db.execute(sql).fetchall()


@pytest.fixture
def home(migrated_home: Path, tmp_path: Path) -> Path:
    return prepare_home(migrated_home, tmp_path / "home")


def scripted(fake: FakeOpenAI, *extra: str) -> list[str]:
    return [
        "--no-input",
        "--admin-username",
        "boss",
        "--admin-email",
        "boss@example.com",
        "--admin-password-env",
        "ADMIN_PW",
        "--provider",
        "custom",
        "--base-url",
        fake.base_url,
        "--model",
        "gpt-fake",
        "--api-key-env",
        "OPENAI_API_KEY",
        *extra,
    ]


def test_scripted_onboarding_sets_everything_up_and_checks_the_model(
    home: Path, fake_openai: FakeOpenAI
) -> None:
    env = {"ADMIN_PW": PASSWORD, "OPENAI_API_KEY": "sk-onboard-test-key"}
    first = onboard(home, *scripted(fake_openai), **env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "boss (created)" in first.stdout
    assert "ok: Model 'gpt-fake' answers at " + fake_openai.base_url in first.stdout
    assert "Start the gateway: make run" in first.stdout
    assert "key from OPENAI_API_KEY (set)" in first.stdout
    assert "in the OPENCLAW_GATEWAY_TOKEN variable" in first.stdout
    for secret in (TOKEN, PASSWORD, "sk-onboard-test-key"):
        assert secret not in first.stdout + first.stderr
    [(is_superuser, is_staff, email)] = query(
        home, "SELECT is_superuser, is_staff, email FROM auth_user WHERE username='boss'"
    )
    assert is_superuser and is_staff and email == "boss@example.com"
    [(model, base_url, key_env)] = query(
        home, "SELECT model, base_url, api_key_env FROM agents_agent WHERE slug='main'"
    )
    assert (model, base_url, key_env) == ("gpt-fake", fake_openai.base_url, "OPENAI_API_KEY")
    assert (home / "workspaces" / "main" / "SOUL.md").is_file()
    [request] = fake_openai.requests
    assert request.body["model"] == "gpt-fake" and request.body["max_tokens"] == 16
    assert request.headers["Authorization"] == "Bearer sk-onboard-test-key"

    # Run again while a gateway holds the state directory's lock.
    with open(home / "gateway.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        again = onboard(home, *scripted(fake_openai), **env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "boss (unchanged)" in again.stdout
    assert "The running gateway uses these settings from the next message." in again.stdout
    assert query(home, "SELECT count(*) FROM auth_user") == [(1,)]
    assert query(home, "SELECT count(*) FROM agents_agent") == [(1,)]


def test_the_generated_token_is_located_not_printed_unless_asked(
    home: Path, fake_openai: FakeOpenAI
) -> None:
    env = base_env(home)
    del env["OPENCLAW_GATEWAY_TOKEN"]
    args = [sys.executable, "manage.py", "onboard", "--no-input", "--skip-model-check"]
    quiet = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    token = (home / "gateway.token").read_text().strip()
    assert f"in {home / 'gateway.token'}" in quiet.stdout and token not in quiet.stdout
    shown = subprocess.run(
        [*args, "--show-token"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert token in shown.stdout


@pytest.mark.parametrize(
    ("reply", "what", "fix"),
    [
        (
            Error(401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key"),
            "refused the API key in OPENAI_API_KEY (HTTP 401)",
            "fix: Set OPENAI_API_KEY to a valid key",
        ),
        (
            Error(404, "The model `gpt-fake` does not exist", "invalid_request_error"),
            "does not know the model 'gpt-fake' (HTTP 404)",
            "/models`",
        ),
        (Hang(), "did not answer within 1 s", "fix: Check that the server runs"),
    ],
    ids=["bad-key", "unknown-model", "timeout"],
)
def test_a_failed_model_check_says_what_is_wrong_and_exits_1(
    home: Path, fake_openai: FakeOpenAI, reply: object, what: str, fix: str
) -> None:
    fake_openai.script(reply)  # type: ignore[arg-type]
    env = {"ADMIN_PW": PASSWORD, "OPENAI_API_KEY": "sk-wrong"}
    proc = onboard(home, *scripted(fake_openai, "--timeout", "1"), **env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert what in proc.stderr and fix in proc.stderr
    # Everything before the check is done and stays done.
    assert query(home, "SELECT count(*) FROM auth_user WHERE username='boss'") == [(1,)]


def test_an_unreachable_model_server_is_named_and_warn_only_keeps_exit_0(home: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    args = ["--no-input", "--provider", "vllm", "--base-url", url, "--model", "m", "--timeout", "2"]
    failed = onboard(home, *args)
    assert failed.returncode == 1
    assert f"Cannot reach the model server at {url}" in failed.stderr
    assert "fix: Start the server" in failed.stderr
    warned = onboard(home, *args, "--warn-only")
    assert warned.returncode == 0 and "Model check failed" in warned.stderr


def test_first_run_defaults_migrate_a_fresh_home_and_only_warn(tmp_path: Path) -> None:
    """What `make run` does before starting the gateway."""
    home = tmp_path / "fresh"
    proc = onboard(home, "--no-input", "--initial-admin", "--warn-only", "--timeout", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No model configured" in proc.stderr
    assert "Checking the model" not in proc.stdout  # no call is made without a model
    assert query(home, "SELECT slug FROM agents_agent") == [("main",)]
    assert (home / "workspaces" / "main" / "AGENTS.md").is_file()
    # MEMORY.md is mirrored at once (the gateway's first start finds nothing changed on disk).
    assert query(home, "SELECT count(*) FROM memory_workingmemory") == [(1,)]
    # The admin user, with a generated password kept like the gateway token.
    secret = home / "admin.password"
    password = secret.read_text().strip()
    assert len(password) >= 20 and secret.stat().st_mode & 0o777 == 0o600
    assert password not in proc.stdout + proc.stderr
    assert f"admin (created); password in {secret}" in proc.stdout
    assert query(home, "SELECT username, is_superuser, is_staff FROM auth_user") == [
        ("admin", 1, 1)
    ]
    # The next start keeps it and still says where the password is (it still logs in).
    again = onboard(home, "--no-input", "--initial-admin", "--skip-model-check")
    assert f"admin (exists); password in {secret} until you change it" in again.stdout
    assert secret.read_text().strip() == password
    assert query(home, "SELECT count(*) FROM auth_user") == [(1,)]


def test_the_initial_admin_is_not_made_when_an_admin_exists(home: Path) -> None:
    onboard(
        home,
        "--no-input",
        "--admin-username",
        "boss",
        "--skip-model-check",
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
    )
    proc = onboard(home, "--no-input", "--initial-admin", "--skip-model-check")
    assert "boss (exists)" in proc.stdout
    assert not (home / "admin.password").exists()
    assert query(home, "SELECT username FROM auth_user") == [("boss",)]


def test_interactive_onboarding_reads_answers_from_the_terminal(
    home: Path, fake_openai: FakeOpenAI
) -> None:
    answers = [
        "ada",  # admin username
        "ada@example.com",
        PASSWORD,
        PASSWORD,
        "",  # agent slug: the default
        "Claw",  # agent name
        "custom",
        fake_openai.base_url,
        "gpt-fake",
        "",  # no API key variable
    ]
    fake_openai.script(Text("OK"))
    proc = onboard(home, stdin="\n".join(answers) + "\n")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Admin username [admin]: " in proc.stdout
    assert "ada (created)" in proc.stdout and "main (Claw)" in proc.stdout
    assert PASSWORD not in proc.stdout
    assert query(home, "SELECT name, api_key_env FROM agents_agent") == [("Claw", "")]
    assert "Authorization" not in fake_openai.requests[0].headers or (
        fake_openai.requests[0].headers["Authorization"] == "Bearer no-key-configured"
    )


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--admin-username", "eve"], {}, "needs a password"),
        (["--admin-username", "eve"], {"DJANGO_SUPERUSER_PASSWORD": "short"}, "too short"),
        (["--provider", "vllm"], {}, "has no default model"),
        (["--provider", "custom", "--model", "x"], {}, "needs a base URL"),
        (["--model", "x"], {}, "--model needs --provider"),
        (["--provider", "openai", "--api-key-env", "HOME"], {}, "must end in _API_KEY"),
    ],
)
def test_bad_input_is_refused_with_what_to_do(
    home: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    proc = onboard(home, "--no-input", "--skip-model-check", *args, **env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert query(home, "SELECT count(*) FROM auth_user") == [(0,)]
