"""OpenClaw's per-chat bindings (`bindings[].match.peer`: one sender's direct messages, a group
or a forum topic routed to another agent) onto `gateway.models.Binding` rows of the imported
channel accounts. Account-wide bindings choose the account's own agent (`channels_map`)."""

from typing import Any

from agents.models import Agent
from gateway.models import Binding, ChannelAccount
from gateway.operator.openclaw_import.channels_map import KEYS, accounts
from gateway.operator.openclaw_import.plan import NotApplied, Step, create, skip, unmapped
from gateway.operator.openclaw_import.source import Source

DIRECT = ("direct", "dm")


def _target(peer: dict[str, Any]) -> tuple[str, str, str] | None:
    """(peer, group, thread) of a binding's `match.peer`, or None."""
    kind, ident = str(peer.get("kind") or ""), str(peer.get("id") or "").strip()
    if not ident:
        return None
    if kind in DIRECT:
        return ident, "", ""
    if kind in ("group", "channel"):
        group, _, thread = ident.partition(":topic:")
        return "", group, thread
    return None


def plan_bindings(source: Source, known: set[str]) -> list[Step]:
    steps: list[Step] = []
    for binding in source.config.get("bindings") or []:
        match = binding.get("match") if isinstance(binding, dict) else None
        if not isinstance(match, dict):
            continue
        channel, agent_id = str(match.get("channel") or ""), str(binding.get("agentId"))
        label = f"{channel} → {agent_id}"
        if match.get("guildId") or match.get("teamId"):
            steps.append(unmapped("binding", label, "guild and team bindings do not exist here"))
            continue
        peer = match.get("peer")
        if not isinstance(peer, dict):
            continue  # account-wide: the account's own agent
        target = _target(peer)
        agent = source.agent(agent_id)
        if target is None or channel not in KEYS:
            steps.append(
                unmapped("binding", label, f"peer {peer!r} on {channel} cannot be bound here")
            )
            continue
        if agent is None or agent.slug not in known:
            steps.append(unmapped("binding", label, f"agent {agent_id!r} is not imported"))
            continue
        wanted = str(match.get("accountId") or "default")
        section = source.section("channels", channel)
        for account_id in accounts(section) if wanted == "*" else [wanted]:
            steps.append(_plan_one(channel, account_id, target, agent.slug))
    return steps


def _plan_one(channel: str, account_id: str, target: tuple[str, str, str], slug: str) -> Step:
    peer, group, thread = target
    name = f"{channel}:{account_id} " + (f"dm {peer}" if peer else f"group {group}")
    name += f" thread {thread}" if thread else ""
    account = ChannelAccount.objects.filter(channel=channel, account_id=account_id).first()
    if (
        account is not None
        and Binding.objects.filter(account=account, peer=peer, group=group, thread=thread).exists()
    ):
        return skip("binding", name)

    def apply() -> str | None:
        found = ChannelAccount.objects.filter(channel=channel, account_id=account_id).first()
        if found is None:
            raise NotApplied(f"{channel}:{account_id} was not imported")
        binding = Binding(account=found, peer=peer, group=group, thread=thread)
        binding.agent = Agent.objects.get(slug=slug)
        binding.full_clean()
        binding.save()
        return None

    return create("binding", name, f"→ agent {slug}", apply)
