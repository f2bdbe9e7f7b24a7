"""Security checks of what an outsider could reach (part of `manage.py doctor --security`): admin
form posts trusted from foreign origins, `web_fetch` allowed onto this machine, and shell commands
that anyone in an open group could run without an operator's approval."""

import ipaddress
from collections.abc import Iterator
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError

from gateway.operator.findings import Finding

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def _host_allowed(host: str) -> bool:
    for pattern in settings.ALLOWED_HOSTS:
        if pattern == "*" or pattern == host:
            return True
        if pattern.startswith(".") and (host == pattern[1:] or host.endswith(pattern)):
            return True
    return False


def check_trusted_origins() -> Iterator[Finding]:
    """A trusted origin the gateway does not answer to lets another site post admin forms."""
    for origin in settings.CSRF_TRUSTED_ORIGINS:
        host = (urlsplit(origin).hostname or "").lower()
        if host and not host.startswith("*") and not _host_allowed(host):
            yield Finding(
                "critical",
                f"DJANGO_CSRF_TRUSTED_ORIGINS trusts {origin}, a host this gateway does not serve "
                "(not in DJANGO_ALLOWED_HOSTS): pages there may post admin forms.",
                "List only the origins you reach the gateway at (its proxy's https:// address).",
            )


def _is_local(host: str) -> bool:
    name = host.strip().lower().strip("[]")
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def check_fetch_allow_hosts() -> Iterator[Finding]:
    """`web_fetch` onto this machine or its network reaches the gateway itself and its peers."""
    local = [h for h in settings.OPENCLAW_WEB_FETCH_ALLOW_HOSTS if _is_local(h)]
    if local:
        yield Finding(
            "critical",
            f"OPENCLAW_WEB_FETCH_ALLOW_HOSTS lets web_fetch reach {', '.join(local)}: a prompt "
            "injection could read the gateway's own pages or services on this network.",
            "Remove loopback and private hosts from OPENCLAW_WEB_FETCH_ALLOW_HOSTS.",
        )


def check_exec_open_to_groups() -> Iterator[Finding]:
    """Anyone in an open group making an agent run shell commands that nobody approves."""
    from agents.models import Agent
    from gateway.models import ChannelAccount

    try:
        accounts = list(
            ChannelAccount.objects.select_related("agent").filter(
                enabled=True, group_policy=ChannelAccount.GroupPolicy.OPEN
            )
        )
    except DatabaseError:
        return  # `_check_accounts` already says the database cannot be read
    for account in accounts:
        agent: Agent = account.agent
        if agent.exec_enabled and not agent.exec_approval and "exec" in (agent.group_tools or ()):
            yield Finding(
                "critical",
                f"Channel account {account} answers any group (group_policy=open), and its agent "
                f"{agent.slug} runs shell commands group members ask for without approval.",
                "Take exec out of the agent's tools in group chats, require approval, or use "
                "group_policy=allowlist.",
            )
