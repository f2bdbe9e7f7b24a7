"""A one-line progress bar for long management commands: drawn in place on a terminal, silent
when the output is a pipe or a log (the command's own summary line says what was done)."""

from collections.abc import Callable


class ProgressBar:
    """`step(label)` once per item of `total`; the bar ends with a newline at the last item.
    Writes nothing unless `tty` is true."""

    def __init__(
        self, total: int, write: Callable[[str], None], tty: bool, width: int = 30
    ) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.write = write
        self.tty = tty
        self.width = width

    def step(self, label: str = "") -> None:
        self.done += 1
        if not self.tty:
            return
        filled = self.width * min(self.done, self.total) // self.total
        bar = "#" * filled + "-" * (self.width - filled)
        end = "\n" if self.done >= self.total else ""
        self.write(f"\r[{bar}] {self.done}/{self.total} {label[:40]:<40}{end}")
