"""The state directory's permissions: which files hold secrets, doctor's findings when the
directory or they are open to others, and `onboard`'s fix (0700 and 0600)."""

import stat
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from gateway.operator.findings import Finding, Severity


def mode_of(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None


def home_is_private() -> bool:
    mode = mode_of(Path(settings.OPENCLAW_HOME))
    return mode is not None and not mode & 0o077


def check_home() -> Iterator[Finding]:
    home = Path(settings.OPENCLAW_HOME)
    mode = mode_of(home)
    if mode is None or not mode & 0o077:
        return
    severity: Severity = "critical" if mode & 0o007 else "warning"
    who = "every user" if mode & 0o007 else "its group"
    yield Finding(
        severity,
        f"The state directory {home} (mode {mode:04o}) is open to {who}: it holds the database, "
        "transcripts, memory and the gateway token.",
        f"chmod 700 {home}",
    )


def secret_files() -> Iterator[tuple[Path, str]]:
    """The files that hold secrets, with what each is (some may not exist)."""
    home = Path(settings.OPENCLAW_HOME)
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        name = Path(str(database["NAME"]))
        yield name, "database"
        for suffix in ("-wal", "-shm"):
            yield name.with_name(name.name + suffix), "database journal"
    yield home / "gateway.token", "gateway token file"
    yield home / "secret_key", "secret key file"
    yield home / "admin.password", "initial admin password file"
    if settings.OPENCLAW_SECRETS_FILE:
        yield Path(settings.OPENCLAW_SECRETS_FILE), "secrets file"
    if settings.OPENCLAW_DOTENV_PATH:
        yield Path(settings.OPENCLAW_DOTENV_PATH), ".env file"


def check_files() -> Iterator[Finding]:
    home = Path(settings.OPENCLAW_HOME).resolve()
    private_home = home_is_private()
    for path, kind in secret_files():
        mode = mode_of(path)
        if mode is None or not mode & 0o077:
            continue
        inside = path.resolve().is_relative_to(home)
        # A world-readable file inside a private state directory is not reachable yet: a warning.
        shielded = inside and private_home
        severity: Severity = "critical" if mode & 0o007 and not shielded else "warning"
        who = "every user" if mode & 0o007 else "its group"
        note = " (its directory protects it for now)" if shielded and mode & 0o007 else ""
        yield Finding(
            severity,
            f"The {kind} {path} (mode {mode:04o}) is readable by {who}{note}.",
            f"chmod 600 {path}",
        )


def permission_problems() -> list[Finding]:
    """The state directory and secret files readable by others (empty when all are private)."""
    return [*check_home(), *check_files()]


def tighten_permissions() -> list[str]:
    """The state directory to 0700 and the secrets in it (database, token, keys, the initial
    admin password) to 0600, as doctor wants them; what changed, one line each. Files outside
    the state directory (.env, OPENCLAW_SECRETS_FILE) are the operator's: doctor reports them."""
    home = Path(settings.OPENCLAW_HOME).resolve()
    targets = [(home, 0o700)]
    for path, _kind in secret_files():
        if path.resolve().is_relative_to(home) and path.is_file():
            targets.append((path, 0o600))
    changed = []
    for path, wanted in targets:
        mode = path.stat().st_mode & 0o777
        if not mode & ~wanted:
            continue
        try:
            path.chmod(mode & wanted)
        except OSError as exc:  # not ours: doctor keeps reporting it, with the command
            changed.append(f"{path}: mode {mode:04o} kept ({exc.strerror}); doctor says how")
            continue
        changed.append(f"{path}: mode {mode:04o} -> {mode & wanted:04o}")
    return changed
