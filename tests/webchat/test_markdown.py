"""The web chat's Markdown renderer (gateway/static/gateway/markdown.js) in Chromium: what model
output becomes in the page, with unsafe links and HTML kept as text."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.gateway_process import ROOT

pytestmark = [pytest.mark.e2e]

SCRIPT = ROOT / "gateway" / "static" / "gateway" / "markdown.js"
RENDER = """src => {
  const box = document.createElement("div");
  box.append(...window.OpenclawMarkdown.renderAll(src, () => {}));
  return box.innerHTML;
}"""
LINK = 'target="_blank" rel="noopener noreferrer nofollow"'


@pytest.fixture(scope="module")
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    page.set_content("<!doctype html><div id=root></div>")
    page.add_script_tag(path=str(SCRIPT))
    yield page
    context.close()


@pytest.mark.parametrize(
    ("source", "html"),
    [
        (
            "plain *it* **bold** ~~gone~~",
            "<p>plain <em>it</em> <strong>bold</strong> <del>gone</del></p>",
        ),
        ("a `<b>` b", "<p>a <code>&lt;b&gt;</code> b</p>"),
        ("<img src=x onerror=alert(1)>", "<p>&lt;img src=x onerror=alert(1)&gt;</p>"),
        ("[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>"),
        ("[x](data:text/html,hi)", "<p>[x](data:text/html,hi)</p>"),
        ("[x](/admin/)", "<p>[x](/admin/)</p>"),
        ("[x](https://a.example/p?q=1)", f'<p><a href="https://a.example/p?q=1" {LINK}>x</a></p>'),
        (
            "see https://a.example/x.",
            f'<p>see <a href="https://a.example/x" {LINK}>https://a.example/x</a>.</p>',
        ),
        ("line one\nline two", "<p>line one<br>line two</p>"),
        (
            "# Title\n\n> quoted",
            '<h3 class="md-h">Title</h3><blockquote><p>quoted</p></blockquote>',
        ),
        ("- a\n  - b\n- c", "<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>"),
        ("3. x\n4. y", '<ol start="3"><li>x</li><li>y</li></ol>'),
        (
            "- [x] done\n- [ ] todo",
            '<ul><li><input type="checkbox" disabled=""> done</li><li><input type="checkbox" disabled=""> todo</li></ul>',
        ),
        (
            "| a | b |\n|---|--:|\n| 1 | 2 |",
            '<div class="table"><table><thead><tr><th>a</th><th style="text-align: right;">b</th></tr></thead>'
            '<tbody><tr><td>1</td><td style="text-align: right;">2</td></tr></tbody></table></div>',
        ),
        ("---", "<hr>"),
    ],
)
def test_rendering(page: Page, source: str, html: str) -> None:
    assert page.evaluate(RENDER, source) == html


def test_code_blocks_closed_or_still_streaming(page: Page) -> None:
    html = page.evaluate(RENDER, "```html\n<script>x()</script>\n```\nafter")
    assert '<code data-lang="html">&lt;script&gt;x()&lt;/script&gt;</code>' in html
    assert 'aria-label="Copy code (html)"' in html and html.endswith("<p>after</p>")
    streaming = page.evaluate(RENDER, "text\n\n```py\nprint(1)\nprint(2")
    assert streaming.startswith("<p>text</p>")
    assert '<code data-lang="py">print(1)\nprint(2</code>' in streaming


def test_checked_task_box_and_copy_callback(page: Page) -> None:
    copied = page.evaluate(
        """() => {
          let got = null;
          const nodes = window.OpenclawMarkdown.renderAll("- [x] a\\n\\n```\\nls -la\\n```", (t) => { got = t; });
          const box = document.createElement("div");
          box.append(...nodes);
          box.querySelector("button.copy").click();
          return [box.querySelector("input").checked, got];
        }"""
    )
    assert copied == [True, "ls -la"]


def test_streaming_updates_keep_the_finished_blocks(page: Page) -> None:
    same = page.evaluate(
        """() => {
          const box = document.createElement("div");
          const view = new window.OpenclawMarkdown.MarkdownView(box, () => {});
          view.update("First paragraph.\\n\\nSecond");
          const first = box.firstChild, second = box.lastChild;
          view.update("First paragraph.\\n\\nSecond, longer now.\\n\\n- item");
          return [box.firstChild === first, box.children[1] === second, box.children.length,
                  box.children[1].textContent];
        }"""
    )
    assert same == [True, False, 3, "Second, longer now."]
