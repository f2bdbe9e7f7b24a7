"""Our Markdown → Telegram HTML (parse_mode "HTML"), as pure functions: text escaped, emphasis,
code, fenced blocks, links and headings turned into the few tags Telegram accepts.
"""

import html
import re

from gateway.adapters.base import FENCE

INLINE_CODE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\[([^\]\n]+)\]\(((?:https?|tg|mailto):[^\s()]+)\)")
BOLD = re.compile(r"\*\*(?=\S)([^\n]+?)(?<=\S)\*\*|(?<!\w)__(?=\S)([^\n]+?)(?<=\S)__(?!\w)")
ITALIC = re.compile(
    r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=\S)\*(?![\w*])|(?<!\w)_(?=\S)([^_\n]+?)(?<=\S)_(?!\w)"
)
STRIKE = re.compile(r"~~(?=\S)([^\n]+?)(?<=\S)~~")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)
SLOT = re.compile("\x00(\\d+)\x00")
LANGUAGE = re.compile(r"[\w+#.-]+")


def render(markdown: str) -> str:
    """Our Markdown as Telegram HTML: text escaped, **bold**, *italic*/_italic_, ~~strike~~,
    `code`, fenced blocks as <pre><code class="language-x">, [text](url) links, headings bold.
    Anything it gets wrong the platform rejects, and the caller resends plain text."""
    blocks: list[str] = []
    prose: list[str] = []
    code: list[str] = []
    fence, language = "", ""
    for line in markdown.split("\n"):
        match = FENCE.match(line)
        if not fence and match:
            if prose:
                blocks.append(_inline("\n".join(prose)))
            prose, code, fence = [], [], match.group(2)
            found = LANGUAGE.match(match.group(3).strip())
            language = found.group(0) if found else ""
        elif fence and match and match.group(2).startswith(fence) and not match.group(3).strip():
            blocks.append(_pre(code, language))
            fence = ""
        else:
            (code if fence else prose).append(line)
    if fence:  # an unclosed block still shows as code
        blocks.append(_pre(code, language))
    if prose:
        blocks.append(_inline("\n".join(prose)))
    return "\n".join(blocks)


def _pre(lines: list[str], language: str) -> str:
    attribute = f' class="language-{language}"' if language else ""
    body = html.escape("\n".join(lines), quote=False)
    return f"<pre><code{attribute}>{body}</code></pre>"


def _inline(text: str) -> str:
    slots: list[str] = []

    def keep(markup: str) -> str:
        slots.append(markup)
        return f"\x00{len(slots) - 1}\x00"

    text = text.replace("\x00", "")
    text = INLINE_CODE.sub(lambda m: keep(f"<code>{html.escape(m[1], quote=False)}</code>"), text)
    text = LINK.sub(
        lambda m: keep(f'<a href="{html.escape(m[2])}">{_emphasis(html.escape(m[1], False))}</a>'),
        text,
    )
    text = HEADING.sub(r"<b>\1</b>", _emphasis(html.escape(text, quote=False)))
    while SLOT.search(text):  # a link's text may hold a code slot
        text = SLOT.sub(lambda m: slots[int(m[1])], text)
    return text


def _emphasis(text: str) -> str:
    text = BOLD.sub(lambda m: f"<b>{m[1] or m[2]}</b>", text)
    text = ITALIC.sub(lambda m: f"<i>{m[1] or m[2]}</i>", text)
    return STRIKE.sub(r"<s>\1</s>", text)
