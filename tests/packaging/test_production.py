"""Behind a TLS reverse proxy: the production variables documented in docs/deployment.md pass
`check --deploy` without a warning, and OPENCLAW_PUBLIC_URL does what it says on a running
gateway (https redirect and HSTS through the proxy, plain-http probes on loopback)."""

import http.client
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gateway_process import ROOT, prepare_home, running_gateway
from tests.packaging.env import fresh_env

DEPLOYMENT = ROOT / "docs" / "deployment.md"


def documented_production_env() -> dict[str, str]:
    """The variables of the first `# /etc/openclaw/openclaw.env` block in docs/deployment.md."""
    text = DEPLOYMENT.read_text(encoding="utf-8")
    block = re.search(r"```sh\n# /etc/openclaw/openclaw.env\n(.*?)```", text, re.S)
    assert block, "docs/deployment.md lost its production environment block"
    pairs = (line.split("=", 1) for line in block[1].splitlines() if re.match(r"[A-Z_]+=", line))
    return dict(pairs)


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_documented_production_variables(tmp_path: Path) -> None:
    documented = documented_production_env()
    assert documented["OPENCLAW_PUBLIC_URL"].startswith("https://")
    env = fresh_env(tmp_path, **documented)
    env.update(OPENCLAW_HOME=str(tmp_path / "state"), OPENCLAW_ENV_FILE="/dev/null")
    done = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout

    without = {k: v for k, v in env.items() if k != "OPENCLAW_PUBLIC_URL"}
    warned = manage(without, "check", "--deploy", "--fail-level", "WARNING")
    assert warned.returncode != 0 and "security.W004" in warned.stderr  # the check does check


@pytest.mark.parametrize(
    "url",
    ["claw.example.com", "https://claw.example.com/chat", "ftp://claw.example.com", "https://"],
)
def test_a_public_url_that_cannot_work_stops_every_command_with_one_line(
    tmp_path: Path, url: str
) -> None:
    env = fresh_env(tmp_path, OPENCLAW_PUBLIC_URL=url, OPENCLAW_ENV_FILE="/dev/null")
    done = manage(env, "check")
    assert done.returncode != 0
    assert done.stderr.startswith("Configuration error: OPENCLAW_PUBLIC_URL="), done.stderr


def request(port: int, path: str, **headers: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", path, headers=headers)
    return connection.getresponse()


@pytest.mark.e2e
def test_public_https_url_redirects_sends_hsts_and_leaves_loopback_probes_alone(
    migrated_home: Path, tmp_path: Path
) -> None:
    home = prepare_home(migrated_home, tmp_path / "home")
    with running_gateway(home, OPENCLAW_PUBLIC_URL="https://claw.example.com") as gateway:
        assert request(gateway.port, "/healthz").status == 200  # plain http on loopback
        direct = request(gateway.port, "/", Host="claw.example.com")
        assert direct.status == 301
        assert direct.headers["Location"] == "https://claw.example.com/"
        proxied = request(
            gateway.port, "/", Host="claw.example.com", **{"X-Forwarded-Proto": "https"}
        )
        assert proxied.status == 200
        assert proxied.headers["Strict-Transport-Security"] == (
            "max-age=31536000; includeSubDomains; preload"
        )
        login = request(gateway.port, "/admin/login/", Host="claw.example.com",
                        **{"X-Forwarded-Proto": "https"})  # fmt: skip
        assert login.status == 200
        assert "Secure" in login.headers["Set-Cookie"]  # the CSRF cookie
