"""Checks behind `manage.py doctor`: risky settings and their fixes, database health.

Each check returns findings; none ever includes a secret's value.
"""

import ipaddress
import re
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

from gateway.operator import exposure, permissions
from gateway.operator.findings import Finding as Finding
from gateway.operator.findings import Severity as Severity

MIN_TOKEN_CHARS = 24
WEAK_WORDS = frozenset(
    {
        "admin",
        "changeme",
        "default",
        "example",
        "gateway",
        "letmein",
        "openclaw",
        "password",
        "secret",
        "test",
        "token",
        "yourtokenhere",
        "123456",
        "qwerty",
    }
)


def is_loopback_host(host: str) -> bool:
    """Whether a bind address only accepts connections from this machine."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def weak_secret_reason(value: str, min_chars: int = MIN_TOKEN_CHARS) -> str | None:
    """Why a token is weak (never echoing it), or None."""
    if len(value) < min_chars:
        return f"it is {len(value)} characters long (use at least {min_chars})"
    rest = re.sub(r"[^a-z0-9]", "", value.lower())
    for word in sorted(WEAK_WORDS, key=len, reverse=True):
        rest = rest.replace(word, "")
    if len(rest) < 8:
        return "it is made of well-known placeholder words"
    if len(set(value)) < 8:
        return "it repeats too few distinct characters"
    return None


def _check_debug() -> Iterator[Finding]:
    if settings.DEBUG:
        yield Finding(
            "critical",
            "DEBUG is on: error pages show settings, paths and tracebacks to anyone who connects.",
            "Set DJANGO_DEBUG=false.",
        )


def _check_secret_key() -> Iterator[Finding]:
    key = settings.SECRET_KEY
    reason = weak_secret_reason(key, 32)
    if key.startswith("django-insecure-"):
        reason = "it is Django's development placeholder"
    if reason:
        yield Finding(
            "critical",
            f"DJANGO_SECRET_KEY is weak: {reason}; sessions and admin logins can be forged.",
            "Unset DJANGO_SECRET_KEY (one is generated into OPENCLAW_HOME/secret_key) or set "
            "50+ random characters.",
        )


def _check_gateway_token() -> Iterator[Finding]:
    reason = weak_secret_reason(settings.OPENCLAW_GATEWAY_TOKEN)
    if reason:
        yield Finding(
            "critical",
            f"OPENCLAW_GATEWAY_TOKEN is weak: {reason}; it grants full control of the gateway.",
            "Set it to `python -c 'import secrets; print(secrets.token_urlsafe(32))'`, or unset "
            "it to use the generated OPENCLAW_HOME/gateway.token.",
        )


def _check_bind() -> Iterator[Finding]:
    bind = settings.OPENCLAW_BIND
    if is_loopback_host(bind):
        return
    if not settings.OPENCLAW_GATEWAY_TOKEN_FROM_ENV:
        yield Finding(
            "critical",
            f"OPENCLAW_BIND={bind} is reachable from the network but OPENCLAW_GATEWAY_TOKEN is "
            "not set in the environment (`manage.py gateway` refuses to start).",
            "Set OPENCLAW_BIND=127.0.0.1 (and a reverse proxy), or set a strong "
            "OPENCLAW_GATEWAY_TOKEN.",
        )
    else:
        yield Finding(
            "warning",
            f"OPENCLAW_BIND={bind}: the gateway listens on the network without TLS.",
            "Prefer OPENCLAW_BIND=127.0.0.1 behind a TLS reverse proxy, or firewall the port.",
        )


def _check_allowed_hosts() -> Iterator[Finding]:
    if "*" in settings.ALLOWED_HOSTS:
        yield Finding(
            "critical",
            "DJANGO_ALLOWED_HOSTS contains '*': a page on any origin passes the WebSocket "
            "origin check and can ride a logged-in admin's session.",
            "List the host names you serve, e.g. DJANGO_ALLOWED_HOSTS=claw.example.com.",
        )


def _check_rates() -> Iterator[Finding]:
    from gateway.ratelimit import parse_rate

    for name in (
        "OPENCLAW_WS_RATE_LIMIT",
        "OPENCLAW_INBOUND_RATE_PER_SENDER",
        "OPENCLAW_INBOUND_RATE_PER_ACCOUNT",
    ):
        value = getattr(settings, name)
        try:
            if value:
                parse_rate(value)
        except ValueError:
            yield Finding("critical", f"{name}={value!r} is not a rate.", f"Set {name}=30/minute.")
        if not value:
            yield Finding(
                "warning", f"{name} is empty: that limit is off.", f"Set {name}, e.g. 30/minute."
            )


def _check_accounts() -> Iterator[Finding]:
    from agents.models import Agent
    from gateway.models import ChannelAccount

    try:
        accounts = list(ChannelAccount.objects.select_related("agent").filter(enabled=True))
        agents = list(Agent.objects.filter(enabled=True))
    except DatabaseError:
        yield Finding(
            "warning",
            "Could not read channel accounts and agents from the database.",
            "Run `python manage.py migrate`, then doctor again.",
        )
        return
    for account in accounts:
        exec_on = getattr(account.agent, "exec_enabled", False) is True
        if account.dm_policy == ChannelAccount.DmPolicy.OPEN:
            yield Finding(
                "critical" if exec_on else "warning",
                f"Channel account {account} accepts direct messages from anyone (dm_policy=open)"
                + (
                    f", and its agent {account.agent.slug} can run shell commands."
                    if exec_on
                    else "."
                ),
                "Use dm_policy=pairing (approve people with `manage.py pairing`) or allowlist.",
            )
        if account.group_policy == ChannelAccount.GroupPolicy.OPEN and not account.require_mention:
            yield Finding(
                "warning",
                f"Channel account {account} answers every message in every group it is added to.",
                "Use group_policy=allowlist, or turn require_mention on.",
            )
    for agent in agents:
        if getattr(agent, "exec_enabled", False) is True:
            yield Finding(
                "warning",
                f"Agent {agent.slug} has exec enabled: the model can run shell commands in "
                f"{agent.workspace}.",
                "Turn exec off for the agent in the admin unless it needs it; require approval.",
            )


def _check_initial_admin_password() -> Iterator[Finding]:
    from gateway.operator import onboarding

    try:
        in_use = onboarding.initial_password_in_use()
    except DatabaseError:
        return  # the database findings say why
    path = onboarding.initial_password_path()
    if in_use:  # as private as gateway.token (0600, checked above): not a problem by itself
        yield Finding(
            "ok",
            f"The admin user {onboarding.INITIAL_ADMIN!r} logs in with the generated password "
            f"in {path} (change it in the admin if you like, then delete the file).",
        )
    elif in_use is False:
        yield Finding(
            "warning",
            f"{path} no longer holds the admin password (it was changed).",
            f"rm {path}",
        )


SECURITY_CHECKS: tuple[Callable[[], Iterator[Finding]], ...] = (
    _check_debug,
    _check_secret_key,
    _check_gateway_token,
    _check_bind,
    _check_allowed_hosts,
    permissions.check_home,
    permissions.check_files,
    _check_rates,
    _check_accounts,
    _check_initial_admin_password,
)


def security_findings() -> list[Finding]:
    checks = (
        *SECURITY_CHECKS,
        exposure.check_trusted_origins,
        exposure.check_fetch_allow_hosts,
        exposure.check_exec_open_to_groups,
    )
    return [finding for check in checks for finding in check()]


def configuration_finding() -> Finding:
    """Where the settings came from (a value that cannot be read stops manage.py earlier, with
    one line naming the variable)."""
    sources = ["the environment"]
    if settings.OPENCLAW_DOTENV_PATH:
        sources.append(settings.OPENCLAW_DOTENV_PATH)
    if settings.OPENCLAW_SECRETS_FILE:
        sources.append(f"secrets file {settings.OPENCLAW_SECRETS_FILE}")
    return Finding(
        "ok",
        f"Configuration read from {', '.join(sources)}; state directory {settings.OPENCLAW_HOME}.",
    )


def health_findings() -> list[Finding]:
    """Configuration, database reachable and migrations applied (passing checks are reported
    as ok)."""
    try:
        connection = connections["default"]
        connection.ensure_connection()
    except DatabaseError as exc:
        return [
            configuration_finding(),
            Finding(
                "critical",
                f"The database is not reachable ({type(exc).__name__}).",
                "Check DATABASE_URL and that the server runs.",
            ),
        ]
    found = [configuration_finding(), Finding("ok", f"Database reachable ({connection.vendor}).")]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        found.append(
            Finding(
                "critical",
                f"{len(plan)} migration(s) not applied.",
                "Run `python manage.py migrate`.",
            )
        )
    else:
        found.append(Finding("ok", "Migrations applied."))
    return found
