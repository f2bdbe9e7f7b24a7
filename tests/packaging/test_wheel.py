"""The package stands on its own: an sdist built from the source, a wheel built from that sdist,
installed into a fresh virtualenv outside the checkout, runs `openclaw migrate`,
`openclaw collectstatic` and `openclaw gateway`, and serves the web chat, the admin and their
static files (hashed, compressed, cached for ten years) from the installed files alone.

Offline: the build runs without isolation (setuptools and build are dev dependencies) and the
new virtualenv sees this one's installed dependencies through a .pth file, so nothing is
downloaded; only openclaw itself is installed there."""

import contextlib
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gateway_process import ROOT, free_port
from tests.packaging.env import fresh_env

pytestmark = [pytest.mark.e2e]

NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "*.egg-info", "__pycache__", "build", "dist", "tests", "bench",
    "test-artifacts", ".*_cache", "celerybeat-schedule*", ".env",
)  # fmt: skip
YEAR_10 = "max-age=315360000"


def sh(*args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=180, **kwargs
    )  # type: ignore[call-overload]
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv outside the checkout with the freshly built wheel installed; its bin/."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    sh(sys.executable, "-m", "build", "--no-isolation", "--outdir", tmp / "dist", source)
    sdist = next((tmp / "dist").glob("openclaw-*.tar.gz"))
    wheel = next((tmp / "dist").glob("openclaw-*.whl"))
    assert sdist.stat().st_size and wheel.stat().st_size
    venv = tmp / "venv"
    sh(sys.executable, "-m", "venv", "--without-pip", venv)
    site = Path(
        sh(
            venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"
        ).stdout.strip()
    )
    (site / "test-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    sh(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install",
       "--no-deps", "--no-index", "--quiet", wheel)  # fmt: skip
    return venv / "bin"


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@contextlib.contextmanager
def gateway(bin_dir: Path, cwd: Path, env: dict[str, str], log: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [bin_dir / "openclaw", "gateway", "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while fetch_status(url + "/readyz") != 200:
                assert proc.poll() is None, log.read_text(errors="replace")
                assert time.monotonic() < deadline, log.read_text(errors="replace")
                time.sleep(0.1)
            yield url
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0, log.read_text(errors="replace")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def fetch_status(url: str) -> int:
    try:
        return fetch(url)[0]
    except OSError:
        return 0


def test_wheel_installed_outside_the_checkout_serves_pages_and_cached_static_files(
    installed: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    env = fresh_env(tmp_path / "home")
    where = sh(installed / "python", "-c", "import openclaw, gateway; print(gateway.__file__)",
               cwd=work, env=env).stdout  # fmt: skip
    assert str(installed.parent) in where and str(ROOT) not in where

    listed = sh(installed / "openclaw", "help", "--commands", cwd=work, env=env).stdout.split()
    assert {"gateway", "onboard", "doctor", "status", "chat", "migrate"} <= set(listed)
    sh(installed / "openclaw", "migrate", "--no-input", "-v0", cwd=work, env=env)
    sh(installed / "openclaw", "collectstatic", "--no-input", "-v0", cwd=work, env=env)
    with gateway(installed, work, env, tmp_path / "gateway.log") as url:
        status, _, page = fetch(url + "/")
        assert status == 200
        script = re.search(rb'src="(/static/gateway/chat\.[0-9a-f]{12}\.js)', page)
        assert script, page[:2000]
        status, headers, body = fetch(url + script[1].decode(), **{"Accept-Encoding": "br, gzip"})
        assert status == 200 and body
        assert headers["Content-Encoding"] in ("br", "gzip")
        assert YEAR_10 in headers["Cache-Control"] and "immutable" in headers["Cache-Control"]

        status, headers, _ = fetch(url + "/admin/")
        assert status == 302 and headers["Location"].startswith("/admin/login/")
        status, _, login = fetch(url + "/admin/login/")
        assert status == 200
        css = re.search(rb'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', login)
        assert css, login[:2000]
        status, headers, _ = fetch(url + css[1].decode(), **{"Accept-Encoding": "gzip"})
        assert status == 200 and headers["Content-Encoding"] == "gzip"
        assert YEAR_10 in headers["Cache-Control"]
    assert sorted(p.name for p in work.iterdir()) == [], "state written to the current folder"
