"""Slack text, both ways, as pure functions: our Markdown → Slack mrkdwn for replies, and
Slack's markup in incoming messages (mentions, links, entities) → plain text for the model.
"""

import re
from collections.abc import Callable

from gateway.adapters.base import FENCE

HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
BULLET = re.compile(r"^(\s*)[-*+][ \t]+(?=\S)")
RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
IMAGE_OR_LINK = re.compile(r"!?\[([^\]\n]*)\]\(\s*([^)\s]+)(?:\s+\"[^\"\n]*\")?\s*\)")
AUTOLINK = re.compile(r"&lt;((?:https?|mailto):[^\s&]+)&gt;")
BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
ITALIC = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
# Placeholders for pieces already in Slack syntax (code spans, links), so later passes leave
# them alone; the private-use characters cannot come from the model's Markdown markers.
HOLD = "\ue000"
HOLD_REF = re.compile(HOLD + r"(\d+)" + HOLD)
BOLD_MARK = "\ue001"

SLACK_LINK = re.compile(r"<([^<>|\s]+)(?:\|([^<>]*))?>")


def escape(text: str) -> str:
    """The three characters Slack requires escaped in message text (also inside code)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(markdown: str) -> str:
    """Our Markdown → Slack mrkdwn: **bold** → *bold*, *italic* → _italic_, ~~s~~ → ~s~,
    [text](url) → <url|text>, headings → bold lines, list markers → bullets. Code fences stay
    (their info string is dropped: Slack would print it as the first line of code)."""
    out: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        match = FENCE.match(line)
        if match and (fence is None or match.group(2)[0] == fence):
            fence = match.group(2)[0] if fence is None else None
            out.append(match.group(1) + "```")
        elif fence is not None:
            out.append(escape(line))
        else:
            out.append(_line(line))
    return "\n".join(out)


def _line(line: str) -> str:
    if RULE.match(line):
        return "──────────"
    heading = HEADING.match(line)
    if heading:
        inner = BOLD.sub(lambda m: m.group(1) or m.group(2), heading.group(1))
        return f"*{_inline(inner)}*" if inner.strip() else ""
    bullet = BULLET.match(line)
    if bullet:
        return bullet.group(1) + "• " + _inline(line[bullet.end() :])
    return _inline(line)


def _inline(text: str) -> str:
    held: list[str] = []

    def hold(rendered: str) -> str:
        held.append(rendered)
        return f"{HOLD}{len(held) - 1}{HOLD}"

    def code(match: re.Match[str]) -> str:
        return hold("`" + escape(match.group(2).strip() or match.group(2)) + "`")

    def link(match: re.Match[str]) -> str:
        label = _plain_label(match.group(1))
        url = escape(match.group(2))
        return hold(f"<{url}|{label}>" if label else f"<{url}>")

    pieces = []
    last = 0
    for match in CODE_SPAN.finditer(text):  # code spans first: nothing inside them is markup
        pieces.append(_markup(text[last : match.start()], link))
        pieces.append(code(match))
        last = match.end()
    pieces.append(_markup(text[last:], link))
    rendered = "".join(pieces)
    while HOLD_REF.search(rendered):  # a held link may contain a held code span
        rendered = HOLD_REF.sub(lambda m: held[int(m.group(1))], rendered)
    return rendered


def _markup(text: str, link: Callable[[re.Match[str]], str]) -> str:
    text = text.replace(HOLD, "").replace(BOLD_MARK, "")
    text = IMAGE_OR_LINK.sub(link, text)
    text = escape(text)
    text = AUTOLINK.sub(r"<\1>", text)
    text = BOLD.sub(lambda m: BOLD_MARK + (m.group(1) or m.group(2)) + BOLD_MARK, text)
    text = ITALIC.sub(r"_\1_", text)
    text = STRIKE.sub(r"~\1~", text)
    return text.replace(BOLD_MARK, "*")


def _plain_label(label: str) -> str:
    """A link's text inside <url|text>: no markup, and nothing that would end the link."""
    label = re.sub(r"[*_~`]", "", label)
    return escape(label.replace("|", "¦")).strip()


def from_slack(text: str, bot_user_id: str = "") -> str:
    """Slack's markup in a received message → plain text: the bot's own mention removed,
    other mentions and channels as @id / #name, links as `label (url)`, entities decoded."""

    def link(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2) or ""
        if target.startswith("@"):
            user = target[1:]
            return "" if bot_user_id and user == bot_user_id else "@" + (label or user)
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0])
        if target.startswith("mailto:"):
            return label or target[7:]
        return f"{label} ({target})" if label and label != target else target

    plain = SLACK_LINK.sub(link, text)
    plain = plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"[ \t]{2,}", " ", plain).strip()
