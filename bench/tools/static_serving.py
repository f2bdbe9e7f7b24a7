"""CPU a static file costs the gateway: the web chat page's three files (chat.js, markdown.js,
chat.css) through the ASGI application, WhiteNoise's index (gateway/staticfiles.py) against the
handler it replaced (Django's ASGIStaticFilesHandler, a finder look-up and a thread hop through
Django per file), on the same settings in one process; plus the bytes sent for a browser that
accepts brotli once collectstatic ran.

    .venv/bin/python bench/tools/static_serving.py [--pages 300] [--rounds 5]

Alternating rounds of `--pages` page loads each side, after a warm-up; printed: the median CPU
per page load (three files) and per file, and the bytes of the three bodies.
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
FILES = ("gateway/chat.js", "gateway/markdown.js", "gateway/chat.css")
App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


async def get(app: App, path: str, accept: str = "") -> tuple[int, int]:
    """One GET through an ASGI app: status and body bytes."""
    headers = [(b"host", b"localhost")] + (
        [(b"accept-encoding", accept.encode())] if accept else []
    )
    scope = {"type": "http", "http_version": "1.1", "method": "GET", "path": path,
             "raw_path": path.encode(), "query_string": b"", "headers": headers}  # fmt: skip
    sent: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if requested:  # no disconnect: wait until the app is done (Django cancels this)
            await asyncio.Event().wait()
        requested = True
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], sum(len(m.get("body", b"")) for m in sent[1:])


async def page_loads(app: App, urls: list[str], pages: int) -> float:
    cpu = time.process_time()
    for _ in range(pages):
        for url in urls:
            status, _ = await get(app, url)
            assert status == 200, url
    return (time.process_time() - cpu) / pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-static-"))
    os.environ["OPENCLAW_HOME"] = str(home)
    os.environ["OPENCLAW_ENV_FILE"] = os.devnull
    os.environ.setdefault("OPENCLAW_GATEWAY_TOKEN", "bench-static-serving")
    os.environ["DJANGO_SETTINGS_MODULE"] = "openclaw.settings"
    collect = [sys.executable, str(ROOT / "manage.py"), "collectstatic", "--no-input", "-v0"]
    subprocess.run(collect, check=True, env=os.environ)
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application
    from django.templatetags.static import static

    from gateway.staticfiles import StaticFilesApp

    django_app = get_asgi_application()
    hashed = [static(f) for f in FILES]
    plain = [f"/static/{f}" for f in FILES]
    sides: dict[str, tuple[App, list[str]]] = {
        "WhiteNoise index (hashed names)": (StaticFilesApp(django_app), hashed),
        "Django handler (before)": (ASGIStaticFilesHandler(django_app), plain),
    }

    async def run() -> None:
        for app, urls in sides.values():
            await page_loads(app, urls, 20)  # warm-up
        cpu: dict[str, list[float]] = {name: [] for name in sides}
        for _ in range(args.rounds):
            for name, (app, urls) in sides.items():
                cpu[name].append(await page_loads(app, urls, args.pages))
        print(f"{'side':34} {'CPU/page':>10} {'CPU/file':>10} {'bytes (br)':>11} {'bytes':>8}")
        for name, (app, urls) in sides.items():
            median = statistics.median(cpu[name])
            br = sum([(await get(app, u, "br, gzip"))[1] for u in urls])
            plain = sum([(await get(app, u))[1] for u in urls])
            print(f"{name:34} {median * 1e3:8.3f}ms {median / 3 * 1e3:8.3f}ms {br:11} {plain:8}")

    asyncio.run(run())


if __name__ == "__main__":
    main()
