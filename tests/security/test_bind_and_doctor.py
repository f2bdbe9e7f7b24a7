"""A public bind needs an explicit token; `manage.py doctor --security` lists risky settings with
their fixes and exits non-zero when one is critical."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from gateway.operator.doctor import is_loopback_host, security_findings, weak_secret_reason
from tests.gateway_process import ROOT, base_env, free_port, prepare_home
from tests.security.conftest import make_account

STRONG = "Zq8vK2mN5pR7tW1xY4bC6dF9gH3jL0sQ"


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("claw.example.com", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize("bind", ["0.0.0.0", "::", "192.168.1.10"])
def test_public_bind_without_a_token_in_the_environment_is_refused(
    tmp_path: Path, bind: str
) -> None:
    env = base_env(tmp_path)
    del env["OPENCLAW_GATEWAY_TOKEN"]  # the generated state-file token is for loopback only
    proc = manage("gateway", "--bind", bind, "--port", str(free_port()), env=env)
    assert proc.returncode != 0
    assert f"Refusing to listen on {bind} without OPENCLAW_GATEWAY_TOKEN" in proc.stderr


def test_public_bind_with_a_token_passes_the_bind_check(tmp_path: Path) -> None:
    env = base_env(tmp_path, OPENCLAW_GATEWAY_TOKEN=STRONG)
    proc = manage("gateway", "--bind", "0.0.0.0", "--port", str(free_port()), env=env)
    # stops at the next check (this home is not migrated), not at the bind check
    assert proc.returncode != 0 and "manage.py migrate" in proc.stderr
    assert "Refusing" not in proc.stderr


@pytest.mark.parametrize(
    ("token", "weak"),
    [
        ("short", True),
        ("changeme-changeme-changeme", True),
        ("openclaw-gateway-token-secret", True),
        ("a" * 40, True),
        (STRONG, False),
    ],
)
def test_weak_tokens(token: str, weak: bool) -> None:
    assert (weak_secret_reason(token) is not None) is weak


def test_doctor_flags_a_weak_configuration_and_exits_1(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)  # noqa: S103  # on purpose: the finding under test
    env = base_env(
        home,
        DJANGO_DEBUG="true",
        OPENCLAW_GATEWAY_TOKEN="changeme",
        OPENCLAW_BIND="0.0.0.0",
        DJANGO_ALLOWED_HOSTS="*",
        OPENCLAW_WS_RATE_LIMIT="lots",
    )
    proc = manage("doctor", "--security", env=env)
    out = proc.stdout
    assert proc.returncode == 1
    assert "critical" in proc.stderr
    for expected in (
        "CRITICAL  DEBUG is on",
        "CRITICAL  OPENCLAW_GATEWAY_TOKEN is weak",
        "WARNING   OPENCLAW_BIND=0.0.0.0",
        "CRITICAL  DJANGO_ALLOWED_HOSTS contains '*'",
        f"CRITICAL  The state directory {home} (mode 0755)",
        "CRITICAL  OPENCLAW_WS_RATE_LIMIT='lots' is not a rate.",
        f"fix: chmod 700 {home}",
        "fix: Set DJANGO_DEBUG=false.",
    ):
        assert expected in out, f"{expected!r} missing from:\n{out}"
    assert "changeme" not in out  # the token's value is never printed


def test_doctor_passes_a_sound_configuration(migrated_home: Path, tmp_path: Path) -> None:
    home = prepare_home(migrated_home, tmp_path / "home")
    for path in home.glob("*"):
        if path.is_file():
            path.chmod(0o600)
    proc = manage("doctor", env=base_env(home, OPENCLAW_GATEWAY_TOKEN=STRONG))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok        Database reachable (sqlite)." in proc.stdout
    assert "ok        Migrations applied." in proc.stdout
    assert "0 critical" in proc.stdout


def test_doctor_reports_unapplied_migrations(tmp_path: Path) -> None:
    proc = manage("doctor", env=base_env(tmp_path, OPENCLAW_GATEWAY_TOKEN=STRONG))
    assert proc.returncode == 1
    assert "migration(s) not applied" in proc.stdout and "manage.py migrate" in proc.stdout


def _about_accounts_and_agents() -> dict[str, str]:
    return {
        f.what: f.severity
        for f in security_findings()
        if f.what.startswith(("Channel account", "Agent"))
    }


@pytest.mark.services
@pytest.mark.django_db
@override_settings(OPENCLAW_GATEWAY_TOKEN=STRONG, DEBUG=False)
def test_doctor_flags_open_direct_messages_and_exec() -> None:
    account = make_account(dm_policy="open")
    findings = _about_accounts_and_agents()
    assert findings == {
        f"Channel account {account} accepts direct messages from anyone (dm_policy=open).": (
            "warning"
        )
    }
    agent = account.agent
    if not hasattr(agent, "exec_enabled"):
        pytest.skip("Agent.exec_enabled does not exist yet")
    agent.exec_enabled = True
    agent.save()
    assert sorted(_about_accounts_and_agents().values()) == ["critical", "warning"]
    with pytest.raises(CommandError, match="1 critical"):
        call_command("doctor", "--security")
