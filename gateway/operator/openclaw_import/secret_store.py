"""Where imported channel tokens go: the secrets file (`OPENCLAW_SECRETS_FILE`, a KEY=VALUE file
read at start; when unset, `OPENCLAW_HOME/secrets.env`, which must then be named in that
variable). Tokens are never written to the database, printed or logged; accounts name the
variables that hold them."""

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
DEFAULT_NAME = "secrets.env"


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


@dataclass
class SecretStore:
    path: Path
    configured: bool  # named in OPENCLAW_SECRETS_FILE (read at start) or not yet
    values: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)

    @classmethod
    def open(cls) -> "SecretStore":
        configured = bool(settings.OPENCLAW_SECRETS_FILE)
        path = Path(settings.OPENCLAW_SECRETS_FILE or Path(settings.OPENCLAW_HOME) / DEFAULT_NAME)
        store = cls(path, configured)
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if found := _LINE.match(line):
                    store.values[found[1]] = _unquote(found[2])
        return store

    def current(self, name: str) -> str | None:
        """The value a variable has now: the environment, else this file, else one planned."""
        return os.environ.get(name) or self.values.get(name) or self.pending.get(name)

    def claim(self, preferred: str, value: str) -> tuple[str, bool]:
        """A variable name for `value`: `preferred` unless it already holds another value (then
        `<preferred>_IMPORTED`, …). Returns (name, needs writing)."""
        for name in (preferred, f"{preferred}_IMPORTED", f"{preferred}_IMPORTED_2"):
            held = self.current(name)
            if held == value:
                return name, False
            if held is None:
                self.pending[name] = value
                return name, True
        raise ValueError(f"{preferred} and its alternatives already hold other values.")

    def write(self, name: str) -> None:
        """Append one pending variable (the file is created with mode 0600)."""
        value = self.pending[name]
        if "'" in value or "\n" in value:
            raise ValueError(f"The value for {name} cannot be written to a KEY=VALUE file.")
        ends_open = self.path.is_file() and not self.path.read_bytes().endswith(b"\n")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(("\n" if ends_open else "") + f"{name}='{value}'\n")
        self.values[name] = self.pending.pop(name)

    def hint(self) -> str:
        if self.configured:
            return f"in the secrets file {self.path}"
        return (
            f"in {self.path}; set OPENCLAW_SECRETS_FILE={self.path} (or copy the lines into "
            "your environment) before starting the gateway"
        )
