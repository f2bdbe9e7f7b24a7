"""Headless Chromium for the web chat tests: Debian's /usr/bin/chromium, never a downloaded one."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.gateway_process import ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"  # screenshots; kept by CI


# Per module, not per session: Playwright's sync API keeps an event loop running in this thread
# while it is open, and later tests in the same worker call asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Debian's chromium is not installed at {CHROMIUM}; the web chat browser tests need "
            "it (`apt-get install -y chromium`; `make test` installs it when run as root)."
        )
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()
