"""Files in the web chat, in headless Chromium against a real `manage.py gateway` and the fake
model: an image attached by the button shows as a thumbnail, goes with the message (an image
part for the model) and is shown in the sent message from the authenticated media endpoint;
a file dropped on the chat and a screenshot pasted into the input are attached too; an image
the agent sends with `send_file` is shown inline in its answer."""

import base64
import json

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI, Text, ToolCall, ToolCalls, image_urls
from tests.gateway_process import TOKEN
from tests.media import samples

pytestmark = [pytest.mark.e2e]

WAIT_MS = 15_000


def loaded(page: Page, selector: str) -> None:
    """The last image matching `selector` has decoded pixels (it was served and is an image)."""
    page.wait_for_function(
        "s => { const all = document.querySelectorAll(s); const img = all[all.length - 1];"
        " return img && img.complete && img.naturalWidth > 0; }",
        arg=selector,
        timeout=WAIT_MS,
    )


def attach_by(page: Page, how: str, name: str, data: bytes, mime: str) -> None:
    """Drop a file on the chat or paste it into the input, as the browser would deliver it."""
    page.evaluate(
        """([how, name, b64, mime]) => {
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const dt = new DataTransfer();
          dt.items.add(new File([bytes], name, { type: mime }));
          if (how === "drop") {
            const main = document.getElementById("main");
            main.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
            main.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
          } else {
            const input = document.getElementById("input");
            input.dispatchEvent(new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true }));
          }
        }""",
        [how, name, base64.b64encode(data).decode(), mime],
    )


def test_an_attached_image_is_sent_and_shown_and_an_answer_shows_its_image(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI, browser: Browser
) -> None:
    gateway = gateway_factory()
    workspace = gateway.home / "workspaces" / "main"
    workspace.mkdir(parents=True, exist_ok=True)
    chart = samples.png(90, 60)
    (workspace / "chart.png").write_bytes(chart)
    fake_openai.script(
        Text("A green square."),
        ToolCalls(ToolCall("send_file", json.dumps({"path": "chart.png"}))),
        Text("Here is the chart."),
    )
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{gateway.url}/#token={TOKEN}")
    expect(page.locator("#status")).to_have_attribute("data-state", "connected", timeout=WAIT_MS)

    photo = samples.png(64, 48)
    page.locator("#file-input").set_input_files(
        {"name": "square.png", "mimeType": "image/png", "buffer": photo}
    )
    expect(page.locator('.attachment[data-state="ready"] img.thumb')).to_be_visible(timeout=WAIT_MS)
    page.locator("#input").fill("what is this?")
    page.locator("#input").press("Enter")
    expect(page.locator(".msg.assistant").last).to_contain_text("A green square.", timeout=WAIT_MS)
    expect(page.locator("#attachments")).to_be_hidden()
    loaded(page, ".msg.user .media-image")
    [request] = [r.body for r in fake_openai.requests if r.path.endswith("/chat/completions")]
    assert image_urls(request) == ["data:image/png;base64," + base64.b64encode(photo).decode()]

    # Dropped and pasted files join the tray: a card for a document, a thumbnail for an image.
    attach_by(page, "drop", "notes.txt", b"shopping: milk\n", "text/plain")
    attach_by(page, "paste", "screenshot.png", samples.png(20, 20), "image/png")
    tray = page.locator("#attachments")
    expect(tray.locator('.attachment[data-state="ready"]')).to_have_count(2, timeout=WAIT_MS)
    expect(tray.locator(".file-name")).to_have_text("notes.txt")
    expect(tray.locator("img.thumb")).to_have_count(1)
    tray.locator(".attachment-remove").first.click()
    tray.locator(".attachment-remove").first.click()
    expect(tray).to_be_hidden()

    page.locator("#input").fill("send me the chart")
    page.locator("#input").press("Enter")
    answer = page.locator(".msg.assistant").last
    expect(answer).to_contain_text("Here is the chart.", timeout=WAIT_MS)
    loaded(page, ".msg.assistant .media-image")
    page.screenshot(path=str(gateway.home / "media-chat.png"))

    # After a reload, the history shows both: the sent photo and the answer's image.
    page.reload()
    expect(page.locator(".msg.user .media-image")).to_have_count(1, timeout=WAIT_MS)
    expect(page.locator(".msg.assistant .media-image")).to_have_count(1)
    loaded(page, ".msg.assistant .media-image")
    loaded(page, ".msg.user .media-image")
    assert errors == []
