"""Our Markdown in WhatsApp's own markup (*bold*, _italic_, ~strike~, ```mono```, "text (url)"),
a pure function."""

import re

from gateway.adapters.base import FENCE

_INLINE_CODE = re.compile(r"(`+)(?=\S)(.+?)(?<=\S)\1")
_LINK = re.compile(r"\[([^\]\n]+)\]\(([^()\s]+(?:\([^()\s]*\)[^()\s]*)*)\)")
_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
_BARE_URL = re.compile(r"https?://[^\s<>()]+")
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)
_BULLET = re.compile(r"^([ \t]*)[*+][ \t]+", re.M)
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC_STAR = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_ITALIC_UNDERSCORE = re.compile(r"(?<![\w_])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_BOLD_MARK = "\x01"  # stands for WhatsApp's bold `*` until italics are converted
_HOLE = "\x02"  # brackets the index of a set-aside code span or URL


def to_whatsapp(markdown: str, *, formatted: bool = True) -> str:
    """Our Markdown in WhatsApp's markup (*bold*, _italic_, ~strike~, ```mono```, "text (url)");
    with `formatted=False`, the same text with the markup removed."""
    out: list[str] = []
    prose: list[str] = []
    in_code = False
    for line in markdown.replace(_BOLD_MARK, "").replace(_HOLE, "").splitlines():
        if FENCE.match(line):
            if prose:
                out.append(_inline("\n".join(prose), formatted))
                prose = []
            if formatted:
                out.append("```")
            in_code = not in_code
        elif in_code:
            out.append(line)
        else:
            prose.append(line)
    if in_code and formatted:
        out.append("```")  # the text left its block open: close it, or the rest renders raw
    if prose:
        out.append(_inline("\n".join(prose), formatted))
    return "\n".join(out).strip("\n")


def _inline(text: str, formatted: bool) -> str:
    held: list[str] = []

    def hold(kept: str) -> str:
        held.append(kept)
        return f"{_HOLE}{len(held) - 1}{_HOLE}"

    def link(match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2)
        return hold(url) if label.strip() == url else f"{label} ({hold(url)})"

    # Code spans and URLs are set aside first so nothing inside them is taken for markup.
    mono = "```" if formatted else ""
    text = _INLINE_CODE.sub(lambda m: hold(f"{mono}{m.group(2)}{mono}"), text)
    text = _LINK.sub(link, text)
    text = _AUTOLINK.sub(lambda m: hold(m.group(1)), text)
    text = _BARE_URL.sub(lambda m: hold(m.group(0)), text)
    bold = _BOLD_MARK if formatted else ""
    text = _HEADING.sub(lambda m: f"{bold}{m.group(1)}{bold}", text)
    text = _BULLET.sub(r"\1- ", text)
    text = _BOLD.sub(lambda m: f"{bold}{m.group(2)}{bold}", text)
    text = _ITALIC_STAR.sub(r"_\1_" if formatted else r"\1", text)
    if not formatted:
        text = _ITALIC_UNDERSCORE.sub(r"\1", text)
    text = _STRIKE.sub(r"~\1~" if formatted else r"\1", text)
    text = text.replace(_BOLD_MARK, "*")
    return re.sub(f"{_HOLE}(\\d+){_HOLE}", lambda m: held[int(m.group(1))], text)
