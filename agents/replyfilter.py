"""What of a model's streamed text reaches the user: inline `<think>` blocks are dropped, and an
answer that is exactly `NO_REPLY` is held back and never delivered. Pure, incremental."""

SILENT = "NO_REPLY"
OPEN, CLOSE = "<think>", "</think>"


def _partial_tag(text: str, tag: str) -> int:
    """Length of the longest suffix of `text` that could start `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


class ReplyFilter:
    def __init__(self) -> None:
        self._pending = ""  # raw text that may be the start of a tag
        self._thinking = False
        self._held = ""  # visible text held while it could still be NO_REPLY
        self._released = False
        self.silent = False
        self.parts: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def feed(self, delta: str) -> str:
        """Take a raw delta; return the text to deliver now (possibly empty)."""
        return self._gate(self._strip_thinking(delta))

    def finish(self) -> str:
        """End of stream: return what is still held, unless the whole answer is NO_REPLY."""
        tail = "" if self._thinking else self._pending
        self._pending = ""
        out = self._gate(tail)
        if not self._released:
            if self._held.strip() == SILENT:
                self.silent = True
                return out
            out += self._release()
        return out

    def _strip_thinking(self, delta: str) -> str:
        buffer, self._pending, visible = self._pending + delta, "", []
        while buffer:
            tag = CLOSE if self._thinking else OPEN
            found = buffer.find(tag)
            if found >= 0:
                if not self._thinking:
                    visible.append(buffer[:found])
                buffer = buffer[found + len(tag) :]
                self._thinking = not self._thinking
                continue
            keep = _partial_tag(buffer, tag)
            if not self._thinking:
                visible.append(buffer[: len(buffer) - keep])
            self._pending = buffer[len(buffer) - keep :]
            break
        return "".join(visible)

    def _gate(self, visible: str) -> str:
        if self._released:
            self.parts.append(visible)
            return visible
        self._held += visible
        probe = self._held.strip()
        if not probe or SILENT.startswith(probe):
            return ""
        return self._release()

    def _release(self) -> str:
        out, self._held, self._released = self._held, "", True
        self.parts.append(out)
        return out
