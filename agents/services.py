"""State changes for agents and sessions: each is one named, synchronous function.

Async callers (the lanes, the consumer) reach these through `database_sync_to_async`.
"""

import logging
import uuid
from dataclasses import dataclass, fields
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction

from agents.models import Agent, Session
from agents.workspace import create_workspace
from openclaw.perf import rows

logger = logging.getLogger(__name__)


class NotFound(LookupError):
    """An agent or session that does not exist (or is disabled)."""


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """What a turn needs to know about an agent, detached from the ORM."""

    slug: str
    name: str
    model: str
    base_url: str
    api_key_env: str
    instructions: str
    temperature: float | None
    max_output_tokens: int
    context_window: int
    workspace: str
    timezone: str = "UTC"
    fallback_models: tuple[str | dict[str, str], ...] = ()
    tool_profile: str = "full"
    tools_allow: tuple[str, ...] = ()
    tools_deny: tuple[str, ...] = ()
    exec_enabled: bool = False
    exec_approval: bool = True
    group_tools: tuple[str, ...] = ()
    skills_allow: tuple[str, ...] = ()
    skills_deny: tuple[str, ...] = ()
    memory_in_groups: bool = False
    queue_mode: str = "collect"
    queue_cap: int = 20
    max_tool_rounds: int = 16
    daily_token_budget: int | None = None
    reasoning_effort: str = ""

    @classmethod
    def from_model(cls, agent: Agent) -> "AgentConfig":
        return cls(
            slug=agent.slug,
            name=agent.name,
            model=agent.model or settings.OPENCLAW_MODEL,
            base_url=agent.base_url,  # empty: the provider's (agents.providers)
            api_key_env=agent.api_key_env,
            instructions=agent.instructions,
            temperature=agent.temperature,
            max_output_tokens=agent.max_output_tokens,
            context_window=agent.context_window,
            workspace=str(agent.workspace),
            timezone=agent.timezone or settings.TIME_ZONE,
            fallback_models=tuple(agent.fallback_models or ()),
            tool_profile=agent.tool_profile,
            tools_allow=tuple(agent.tools_allow or ()),
            tools_deny=tuple(agent.tools_deny or ()),
            exec_enabled=agent.exec_enabled,
            exec_approval=agent.exec_approval,
            group_tools=tuple(agent.group_tools or ()),
            skills_allow=tuple(agent.skills_allow or ()),
            skills_deny=tuple(agent.skills_deny or ()),
            memory_in_groups=agent.memory_in_groups,
            queue_mode=agent.queue_mode,
            queue_cap=agent.queue_cap,
            max_tool_rounds=agent.max_tool_rounds,
            daily_token_budget=agent.daily_token_budget,
            reasoning_effort=agent.reasoning_effort,
        )


@dataclass(frozen=True, slots=True)
class SessionRef:
    pk: int
    key: str
    session_id: str
    agent: AgentConfig
    transcript: str
    channel: str = "web"
    is_group: bool = False
    model_override: str = ""
    queue_mode: str = "collect"
    token_ratio: float = 1.0

    @property
    def model(self) -> str:
        return self.model_override or self.agent.model


def ensure_workspace(agent: Agent) -> None:
    """The agent's workspace from the templates, where missing (files never overwritten)."""
    create_workspace(agent.workspace, agent_name=agent.name)


def ensure_workspaces() -> None:
    """Every agent's workspace, however the agent was created (admin, command, import)."""
    for agent in Agent.objects.all():
        ensure_workspace(agent)


def ensure_default_agent(using: str = "default") -> Agent:
    """Create the default agent and its workspace if missing (runs after every `migrate`)."""
    slug = settings.OPENCLAW_DEFAULT_AGENT
    agent, created = Agent.objects.using(using).get_or_create(
        slug=slug, defaults={"name": slug.capitalize()}
    )
    create_workspace(agent.workspace, agent_name=agent.name)
    if created:
        logger.info("Created default agent %r with workspace %s", slug, agent.workspace)
    return agent


def get_agent(slug: str | None) -> Agent:
    slug = slug or settings.OPENCLAW_DEFAULT_AGENT
    agent = rows.first_where(Agent, {"slug": slug, "enabled": True})
    if agent is None:
        raise NotFound(f"No enabled agent {slug!r}.")
    return agent


def main_session_key(agent_slug: str | None) -> str:
    return f"agent:{agent_slug or settings.OPENCLAW_DEFAULT_AGENT}:main"


def agent_slug_of(key: str) -> str | None:
    """The agent named by a session key `agent:<slug>:...`, or None for a malformed key."""
    parts = key.split(":", 2)
    if len(parts) == 3 and parts[0] == "agent" and parts[1] and parts[2]:
        return parts[1]
    return None


def _new_session(
    agent: Agent, key: str, channel: str, peer: str, is_group: bool = False
) -> Session:
    session_id = uuid.uuid4()
    return Session.objects.create(
        key=key,
        session_id=session_id,
        agent=agent,
        channel=channel,
        peer=peer,
        is_group=is_group,
        transcript_path=f"sessions/{agent.slug}/{session_id.hex}.jsonl",
    )


def open_session(
    key: str, *, channel: str = "web", peer: str = "", is_group: bool = False
) -> tuple[SessionRef, bool]:
    """The active session for `key`, created if needed; returns (session, created)."""
    slug = agent_slug_of(key)
    if slug is None:
        raise NotFound(f"Malformed session key {key!r}: expected agent:<agent>:<name>.")
    session, owner = _active_session_and_agent(key)
    if session is not None and owner is not None and owner.slug == slug and owner.enabled:
        return _ref(session, owner), False
    agent = get_agent(slug)
    created = False
    if session is None:
        try:
            with transaction.atomic():
                session = _new_session(agent, key, channel, peer, is_group)
                created = True
        except IntegrityError:  # created concurrently by another run: use that one
            session = Session.objects.get(key=key, status=Session.Status.ACTIVE)
    return _ref(session, agent), created


# What `_ref` reads of a session and its agent (and the agent's `slug` and `enabled`, which
# `open_session` checks): read alone, the others are left out (deferred).
_SESSION_FIELDS = (
    "key",
    "session_id",
    "agent",
    "channel",
    "is_group",
    "model_override",
    "queue_mode",
    "token_ratio",
    "transcript_path",
)
_AGENT_FIELDS = (
    "slug",
    "enabled",
    *(f.name for f in fields(AgentConfig) if f.name != "workspace"),  # a property
)


def _active_session_and_agent(key: str) -> tuple[Session | None, Agent | None]:
    """The active session for `key` (at most one exists) and its agent, in one statement. Every
    turn opens its session: read as SQL (`openclaw.perf.rows`), the columns it needs only."""
    found = rows.first_where_with(
        Session,
        {"key": key, "status": Session.Status.ACTIVE.value},
        "agent",
        only=_SESSION_FIELDS,
        related_only=_AGENT_FIELDS,
    )
    if found is None:
        return None, None
    session, agent = found
    assert isinstance(agent, Agent)  # noqa: S101  # Session.agent points to Agent
    return session, agent


def _ref(session: Session, agent: Agent) -> SessionRef:
    return SessionRef(
        pk=session.pk,
        key=session.key,
        session_id=session.session_id.hex,
        agent=AgentConfig.from_model(agent),
        transcript=str(session.transcript_file),
        channel=session.channel,
        is_group=session.is_group,
        model_override=session.model_override,
        queue_mode=session.queue_mode or agent.queue_mode,
        token_ratio=session.token_ratio,
    )


def find_session(key: str) -> SessionRef:
    """The active session for `key`; NotFound if it has never been used."""
    session, owner = _active_session_and_agent(key)
    if session is None or owner is None:
        raise NotFound(f"No session {key!r}.")
    return _ref(session, owner)


def set_session_model(key: str, model: str) -> None:
    """Switch the model of the active session for `key` (empty: back to the agent's)."""
    if not Session.objects.filter(key=key, status=Session.Status.ACTIVE).update(
        model_override=model[:200]
    ):
        raise NotFound(f"No session {key!r}.")


def reset_session(key: str) -> tuple[str, str]:
    """Archive the active session for `key` and open a fresh one (the transcript stays on disk).

    Returns (previous session id, new session id).
    """
    with transaction.atomic():
        old = Session.objects.select_related("agent").filter(key=key, status="active").first()
        if old is None:
            raise NotFound(f"No session {key!r}.")
        Session.objects.filter(pk=old.pk).update(status=Session.Status.ARCHIVED)
        new = _new_session(old.agent, key, old.channel, old.peer, old.is_group)
    return old.session_id.hex, new.session_id.hex


def list_sessions(agent_slug: str | None = None, limit: int = 200) -> list[dict[str, object]]:
    qs = Session.objects.select_related("agent").filter(status=Session.Status.ACTIVE)
    if agent_slug:
        qs = qs.filter(agent__slug=agent_slug)
    return [
        {
            "key": s.key,
            "agent": s.agent.slug,
            "title": s.title,
            "channel": s.channel,
            "created": s.created_at.isoformat(),
            "last_active": s.last_active_at.isoformat(),
            "turns": s.turns,
            "tokens_in": s.tokens_in,
            "tokens_out": s.tokens_out,
            "cost": str(s.cost.quantize(Decimal("0.000001"))),
            "status": s.status,
        }
        for s in qs[:limit]
    ]
