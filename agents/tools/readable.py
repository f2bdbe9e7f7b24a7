"""Readable text from HTML for web_fetch: headings, paragraphs, lists and link text, no scripts.

Built on the stdlib parser, which tolerates broken markup and never fetches anything.
"""

from html.parser import HTMLParser

# Contents dropped entirely: code, styling, navigation chrome and embedded documents.
_SKIP = frozenset(
    {"script", "style", "nav", "noscript", "template", "svg", "iframe", "canvas", "object"}
)
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
        "figure", "footer", "form", "header", "hr", "main", "ol", "section", "table", "td", "th",
        "tr", "ul",
    }
)  # fmt: skip
_PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre"})


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.title: list[str] = []
        self.skipping = 0
        self.in_title = False
        self.in_pre = 0

    def _break(self, *, blank: bool = False) -> None:
        line = " ".join("".join(self.current).split())
        self.current = []
        if line and line not in ("-", "#" * len(line)):
            self.lines.append(line)
        if blank and self.lines and self.lines[-1]:
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif self.skipping:
            return
        elif tag == "title":
            self.in_title = True
        elif tag in _PARAGRAPHS:
            self._break(blank=True)
            if tag == "pre":
                self.in_pre += 1
            elif tag[0] == "h":
                self.current.append("#" * int(tag[1]) + " ")
        elif tag == "li":
            self._break()
            self.current.append("- ")
        elif tag in _BLOCKS:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif self.skipping:
            return
        elif tag == "title":
            self.in_title = False
        elif tag in _PARAGRAPHS:
            self._break(blank=True)
            if tag == "pre":
                self.in_pre = max(0, self.in_pre - 1)
        elif tag in _BLOCKS or tag == "li":
            self._break()

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.in_title:
            self.title.append(data)
        elif self.in_pre:
            # Preformatted text keeps its line breaks and indentation (code samples).
            self._break()
            self.lines.extend(line.rstrip() for line in data.strip("\n").splitlines())
        else:
            self.current.append(data)


def html_to_text(html: str) -> str:
    """The page's readable text: a `Title:` line, then blocks separated by blank lines."""
    parser = _Extractor()
    parser.feed(html)
    parser.close()
    parser._break()
    body = "\n".join(parser.lines).strip()
    title = " ".join("".join(parser.title).split())
    return f"Title: {title}\n\n{body}" if title else body
