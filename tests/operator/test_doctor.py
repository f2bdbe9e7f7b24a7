"""`manage.py doctor` health checks: the model of every enabled agent, channel credentials
(Slack auth.test and Telegram getMe against the fakes), the broker, the lock and permissions,
each problem with its fix and no secret in the output."""

import asyncio
import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from pytest_django.fixtures import Settings

from agents.models import Agent
from gateway.operator.doctor import Finding, security_findings
from gateway.operator.onboarding import ensure_initial_admin
from gateway.operator.probes import reachability_findings
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack_server import APP_TOKEN, BOT_TOKEN, FakeSlack
from tests.fakes.telegram_server import FakeTelegram
from tests.gateway_process import ROOT, base_env, free_port, prepare_home

STRONG = "Zq8vK2mN5pR7tW1xY4bC6dF9gH3jL0sQ"


def test_doctor_checks_models_channels_broker_lock_and_permissions(
    migrated_home: Path, tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    home = prepare_home(migrated_home, tmp_path / "home")
    for path in home.glob("*"):
        if path.is_file():
            path.chmod(0o600)
    env = base_env(
        home,
        OPENCLAW_GATEWAY_TOKEN=STRONG,
        OPENAI_BASE_URL=fake_openai.base_url,
        OPENAI_API_KEY="sk-doctor-key-123",
        OPENCLAW_MODEL="gpt-fake",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        TELEGRAM_BOT_TOKEN="999:revoked-telegram-token",
        WHATSAPP_ACCESS_TOKEN="wa-access-token-1",
        WHATSAPP_APP_SECRET="wa-app-secret-1",
        WHATSAPP_VERIFY_TOKEN="wa-verify-token-1",
        CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0",
    )
    lock = os.open(home / "gateway.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.pwrite(lock, b"4242\n", 0)
    try:
        with FakeSlack() as slack, FakeTelegram() as telegram:
            env |= {"SLACK_API_URL": slack.api_url, "TELEGRAM_API_URL": telegram.url}
            proc = subprocess.run(
                [sys.executable, "manage.py", "doctor", "--timeout", "3"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert slack.calls("auth.test") and telegram.calls_to("getMe")
    finally:
        os.close(lock)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    for expected in (
        f"ok        Agent main: Model 'gpt-fake' answers at {fake_openai.base_url}.",
        "ok        Channel account slack:default (slack (from the environment)): credentials "
        "set, auth.test answers",
        "CRITICAL  Channel account telegram:default (telegram (from the environment)): the "
        "platform refused the credentials",
        "fix: Replace the token in TELEGRAM_BOT_TOKEN",
        "ok        Channel account whatsapp:default (whatsapp (from the environment)): "
        "credentials set (not verified",
        "WARNING   Celery broker not reachable: redis://",
        "Connection refused. Memory curation",
        "(chat is not affected)",
        f"ok        A gateway is running (pid 4242 holds {home / 'gateway.lock'}).",
        f"ok        State directory {home} is private (0700); its secrets are 0600.",
        f"ok        Configuration read from the environment; state directory {home}.",
    ):
        assert expected in out, f"{expected!r} missing from:\n{out}"
    for secret in ("sk-doctor-key-123", "revoked-telegram-token", BOT_TOKEN, "wa-access-token-1"):
        assert secret not in out + proc.stderr


@pytest.mark.django_db(transaction=True)
def test_each_enabled_agent_model_is_checked_with_its_own_settings(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}/v1"
    Agent.objects.create(slug="local", name="Local", model="llama", base_url=unreachable)
    Agent.objects.create(slug="off", name="Off", model="x", base_url=unreachable, enabled=False)
    with override_settings(
        OPENAI_BASE_URL=fake_openai.base_url,
        OPENCLAW_MODEL="gpt-fake",
        OPENCLAW_WORKSPACES=tmp_path,
        OPENCLAW_CHANNEL_ENV={},
    ):
        Agent.objects.get_or_create(slug="main", defaults={"name": "Main"})
        findings = asyncio.run(reachability_findings(3))
    about_agents = {f.what: f.severity for f in findings if f.what.startswith("Agent")}
    assert about_agents == {
        f"Agent local: Cannot reach the model server at {unreachable} (connection failed).": (
            "critical"
        ),
        f"Agent main: Model 'gpt-fake' answers at {fake_openai.base_url}.": "ok",
    }
    assert len(fake_openai.requests) == 1


@pytest.mark.django_db
def test_doctor_names_the_generated_admin_password_and_a_stale_password_file(
    settings: Settings, tmp_path: Path
) -> None:
    settings.OPENCLAW_HOME = tmp_path
    assert ensure_initial_admin() is not None
    secret = tmp_path / "admin.password"

    def about_the_file() -> list[Finding]:
        return [f for f in security_findings() if str(secret) in f.what]

    [finding] = about_the_file()
    assert finding.severity == "ok" and "logs in with the generated password" in finding.what
    user = get_user_model().objects.get(username="admin")
    user.set_password("another-long-passphrase-1")
    user.save()
    [finding] = about_the_file()
    assert finding.severity == "warning" and finding.fix == f"rm {secret}"
    secret.chmod(0o644)
    assert any(f"initial admin password file {secret}" in f.what for f in security_findings())
