"""OpenClaw channel accounts onto `gateway.models.ChannelAccount`: Telegram, Slack and WhatsApp
(Cloud API only) accounts with their DM and group policies, allowlists and mention gating, the
agent a binding routes them to, and their credentials as variable names (the tokens themselves
go to the secrets file, never to the database)."""

import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

from agents.models import Agent
from gateway.models import ChannelAccount
from gateway.operator.openclaw_import.plan import Step, create, skip, unmapped
from gateway.operator.openclaw_import.secret_store import SecretStore
from gateway.operator.openclaw_import.source import JSON, Source, env_reference, expand
from gateway.platforms import DEFAULTS

# role → the key OpenClaw keeps it under
KEYS = {
    "telegram": {"bot_token": "botToken", "webhook_secret": "webhookSecret"},
    "slack": {"bot_token": "botToken", "app_token": "appToken", "signing_secret": "signingSecret"},
    "whatsapp": {
        "access_token": "accessToken",
        "app_secret": "appSecret",
        "verify_token": "verifyToken",
    },
}
# Keys that make the channel's root settings an account of their own (`default`).
ACCOUNT_KEYS = {"tokenFile", *(k for keys in KEYS.values() for k in keys.values())}
PREFIXES = {
    "telegram": ("telegram:", "tg:"),
    "slack": ("slack:", "user:"),
    "whatsapp": ("whatsapp:",),
}
GROUP_KEYS_MAPPED = {"requireMention", "enabled", "allow"}
ID_SHAPES = {
    "telegram": re.compile(r"-?\d+"),
    "slack": re.compile(r"[UWBCGD][A-Z0-9]+"),
    "whatsapp": re.compile(r"\d{5,}"),
}


@dataclass
class Planned:
    fields: dict[str, Any] = field(default_factory=dict)
    credentials: dict[str, str] = field(default_factory=dict)
    to_write: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _ids(channel: str, values: object, what: str, notes: list[str]) -> list[str]:
    found: list[str] = []
    for value in values if isinstance(values, list) else []:
        text = str(value).strip()
        for prefix in PREFIXES[channel]:
            text = text.removeprefix(prefix)
        if channel == "whatsapp":
            text = text.removeprefix("+")
        if text == "*":
            continue
        if ID_SHAPES[channel].fullmatch(text):
            found.append(text)
        else:
            notes.append(f"{what} entry {value!r}: only {channel} ids are matched here")
    return list(dict.fromkeys(found))


def accounts(section: JSON) -> dict[str, JSON]:
    """Account id → its settings (the channel's root settings apply unless overridden)."""
    base = {k: v for k, v in section.items() if k != "accounts"}
    listed = section.get("accounts") if isinstance(section.get("accounts"), dict) else {}
    assert isinstance(listed, dict)  # noqa: S101  # narrowed just above
    shared = {k: v for k, v in base.items() if k not in ACCOUNT_KEYS}  # tokens are per account
    found = {
        str(k): {**(base if k == "default" else shared), **v}
        for k, v in listed.items()
        if isinstance(v, dict)
    }
    if "default" not in found and (not found or any(k in section for k in ACCOUNT_KEYS)):
        found = {"default": base, **found}
    return found


def _agent_for(source: Source, channel: str, account_id: str, known: set[str]) -> str:
    """The slug of the agent OpenClaw routes this account to (account bindings only)."""
    best: tuple[int, str] | None = None
    for binding in source.config.get("bindings") or []:
        match = binding.get("match") if isinstance(binding, dict) else None
        if not isinstance(match, dict) or match.get("channel") != channel:
            continue
        if any(match.get(k) for k in ("peer", "guildId", "teamId")):
            continue
        wanted = match.get("accountId")
        rank = 2 if wanted == account_id else 1 if wanted == "*" else 0
        if wanted is None and account_id != "default":
            continue
        agent = source.agent(str(binding.get("agentId")))
        if agent is not None and agent.slug in known and (best is None or rank > best[0]):
            best = (rank, agent.slug)
    if best is not None:
        return best[1]
    default = source.default_agent
    return default.slug if default is not None and default.slug in known else next(iter(known))


def _secret(
    channel: str, account_id: str, role: str, value: object, store: SecretStore, out: Planned
) -> None:
    conventional = DEFAULTS[channel][role]
    preferred = (
        conventional
        if account_id == "default"
        else (f"{conventional}_{re.sub(r'[^A-Z0-9]+', '_', account_id.upper()).strip('_')}")
    )
    if value is None:
        if account_id == "default" and role in ("bot_token", "access_token"):
            out.credentials[role] = conventional  # OpenClaw's own fallback variable
        return
    named = env_reference(value)
    if named is not None and re.match(r"^(SLACK|TELEGRAM|WHATSAPP)_[A-Z0-9_]+$", named):
        out.credentials[role] = named
        return
    if named is not None:
        value = store.current(named)
        if value is None:
            out.notes.append(f"{role} comes from ${named}, which is not set: set {preferred}")
            return
    if not isinstance(value, str) or not value.strip():
        out.notes.append(f"{role} is a secret reference this importer cannot read: set {preferred}")
        return
    name, new = store.claim(preferred, value.strip())
    out.credentials[role] = name
    if new:
        out.to_write.append(name)


def plan_fields(
    source: Source, channel: str, account_id: str, acct: JSON, known: set[str], store: SecretStore
) -> Planned:
    out = Planned()
    dm = acct.get("dm") if isinstance(acct.get("dm"), dict) else {}
    assert isinstance(dm, dict)  # noqa: S101  # narrowed just above
    dm_policy = acct.get("dmPolicy") or dm.get("policy") or "pairing"
    if dm_policy not in ChannelAccount.DmPolicy.values:
        out.notes.append(f"DM policy {dm_policy!r} became pairing")
        dm_policy = "pairing"
    groups_key = "channels" if channel == "slack" else "groups"
    groups = acct.get(groups_key) if isinstance(acct.get(groups_key), dict) else {}
    assert isinstance(groups, dict)  # noqa: S101  # narrowed just above
    default_policy = source.section("channels", "defaults").get("groupPolicy")
    group_policy = acct.get("groupPolicy") or default_policy or "allowlist"
    if "*" in groups and group_policy == "allowlist":
        group_policy = "open"
        out.notes.append(f'{groups_key} "*" (every group) became group policy open')
    if group_policy not in ChannelAccount.GroupPolicy.values:
        out.notes.append(f"group policy {group_policy!r} became allowlist")
        group_policy = "allowlist"
    listed = [k for k, v in groups.items() if k != "*" and not _off(v)]
    mentions = {v.get("requireMention") for v in groups.values() if isinstance(v, dict)}
    wildcard = groups.get("*") if isinstance(groups.get("*"), dict) else {}
    require = wildcard.get("requireMention") if isinstance(wildcard, dict) else None
    if require is None:
        require = acct.get("requireMention", True)
    if len(mentions - {None}) > 1:
        out.notes.append("requireMention differs per group; here it is one setting per account")
    extra = sorted(
        {k for v in groups.values() if isinstance(v, dict) for k in v} - GROUP_KEYS_MAPPED
    )
    if extra:
        out.notes.append(f"per-group {', '.join(extra)}: groups share the account's settings here")
    agent_slug = _agent_for(source, channel, account_id, known)
    allowed = _ids(channel, acct.get("allowFrom", dm.get("allowFrom")), "allowFrom", out.notes)
    # OpenClaw's default session.dmScope "main" puts every allowed sender's DMs in the agent's
    # main session: here that is what an owner is.
    dm_scope = source.section("session").get("dmScope") or "main"
    owners = allowed if dm_scope == "main" and dm_policy in ("allowlist", "pairing") else []
    out.fields = {
        "name": str(acct.get("name") or f"{channel} {account_id} (from OpenClaw)")[:120],
        "enabled": acct.get("enabled") is not False,
        "agent_slug": agent_slug,
        "dm_policy": dm_policy,
        "allow_from": allowed,
        "owner_ids": owners,
        "group_policy": group_policy,
        "group_allowlist": _ids(channel, listed, groups_key, out.notes),
        "group_sender_allowlist": _ids(
            channel, acct.get("groupAllowFrom"), "groupAllowFrom", out.notes
        ),
        "require_mention": bool(require),
        "mention_patterns": _patterns(source, agent_slug),
    }
    if channel == "telegram" and isinstance(acct.get("tokenFile"), str) and "botToken" not in acct:
        try:
            acct = {**acct, "botToken": expand(acct["tokenFile"], source.home).read_text().strip()}
        except OSError as exc:
            out.notes.append(f"tokenFile cannot be read ({exc.strerror}): set the token by hand")
    for role, key in KEYS[channel].items():
        _secret(channel, account_id, role, acct.get(key), store, out)
    if acct.get("webhookUrl"):
        out.notes.append("webhookUrl: the webhook address is TELEGRAM_WEBHOOK_URL here")
    if channel == "whatsapp" and acct.get("phoneNumberId"):
        out.fields["options"] = {"phone_number_id": str(acct["phoneNumberId"])}
    return out


def _off(value: object) -> bool:
    return isinstance(value, dict) and (
        value.get("enabled") is False or value.get("allow") is False
    )


def _patterns(source: Source, slug: str) -> list[str]:
    agent = next((a for a in source.agents if a.slug == slug), None)
    chat = agent.get("groupChat") if agent is not None else None
    patterns = chat.get("mentionPatterns") if isinstance(chat, dict) else None
    return [str(p) for p in patterns] if isinstance(patterns, list) else []


def _unsupported(channel: str, section: JSON) -> str | None:
    if channel not in KEYS:
        return f"no {channel} support here (Telegram, Slack and WhatsApp Cloud API only)"
    if channel == "whatsapp" and not any("accessToken" in a for a in accounts(section).values()):
        return (
            "OpenClaw's WhatsApp is a linked WhatsApp Web device; here WhatsApp is the Cloud API, "
            "which needs a business phone number id and tokens (docs/platforms/whatsapp.md)"
        )
    return None


def plan_account(
    source: Source, channel: str, account_id: str, acct: JSON, known: set[str], store: SecretStore
) -> Step:
    label = f"{channel}:{account_id}"
    if ChannelAccount.objects.filter(channel=channel, account_id=account_id).exists():
        return skip("channel", label, "exists here; its settings were kept")
    if not known:
        return unmapped("channel", label, "no agent was imported to answer it")
    out = plan_fields(source, channel, account_id, acct, known, store)
    fields = {k: v for k, v in out.fields.items() if k != "agent_slug"}
    candidate = ChannelAccount(channel=channel, account_id=account_id, **fields)
    candidate.credentials = out.credentials
    try:
        candidate.clean_fields(exclude=["agent"])
    except ValidationError as exc:
        return unmapped("channel", label, "; ".join(exc.messages))

    def apply() -> str | None:
        for name in out.to_write:
            store.write(name)
        candidate.agent = Agent.objects.get(slug=out.fields["agent_slug"])
        candidate.save()
        return f"tokens {store.hint()}" if out.to_write else None

    secrets = ", ".join(
        f"{role} in {name}" + (" (new in the secrets file)" if name in out.to_write else "")
        for role, name in out.credentials.items()
    )
    detail = (
        f"agent {out.fields['agent_slug']}, DMs {fields['dm_policy']} "
        f"({len(fields['allow_from'])} allowed, {len(fields['owner_ids'])} owners), "
        f"groups {fields['group_policy']} "
        f"({len(fields['group_allowlist'])} listed)" + (f"; {secrets}" if secrets else "")
    )
    step = create("channel", label, detail, apply)
    step.notes = out.notes
    return step


def plan_channels(source: Source, known: set[str], store: SecretStore) -> list[Step]:
    steps: list[Step] = []
    for channel, section in source.section("channels").items():
        if channel in ("defaults", "modelByChannel") or not isinstance(section, dict):
            if channel == "modelByChannel":
                steps.append(
                    unmapped("setting", "channels.modelByChannel", "no per-chat models here")
                )
            continue
        if reason := _unsupported(channel, section):
            steps.append(unmapped("channel", channel, reason))
            continue
        for account_id, acct in accounts(section).items():
            steps.append(plan_account(source, channel, account_id, acct, known, store))
    return steps
