"""OpenClaw agents onto `agents.models.Agent`: id → slug, name, model and fallbacks as
provider-qualified ids (`google/…` is our `gemini/…`; providers we do not speak are listed,
not guessed), time zone, skills, thinking level, tool profile, heartbeat. An agent that exists
here already keeps what was set on it; only its empty fields are filled."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Field

from agents import providers
from agents.models import Agent, ToolProfile
from agents.schedule_specs import ScheduleError, parse_duration
from agents.services import ensure_workspace
from gateway.operator.openclaw_import.plan import Step, create, skip, unmapped
from gateway.operator.openclaw_import.source import AgentEntry, Source

# OpenClaw provider id → ours (agents.providers).
PROVIDERS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google": "gemini",
    "gemini": "gemini",
    "openrouter": "openrouter",
    "ollama": "ollama",
    "vllm": "vllm",
    "azure": "azure",
    "azure-openai": "azure",
}
THINKING = {"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "high"}
THINKING |= {"max": "high", "off": ""}
# Agent settings with no counterpart here, and why.
NOT_MAPPED = {
    "sandbox": "no sandboxes here: file tools stay inside the workspace, exec is off unless "
    "enabled per agent",
    "runtime": "ACP/CLI harness runtimes do not exist here",
    "subagents": "no sub-agent spawning here",
    "tts": "no text-to-speech here",
    "params": "provider parameters are not carried over; set temperature and limits in the admin",
    "agentDir": "auth profiles stay with OpenClaw; keys come from the environment here",
}


def _aliases(source: Source) -> dict[str, str]:
    models = source.section("agents", "defaults", "models")
    return {
        str(spec["alias"]): str(ref)
        for ref, spec in models.items()
        if isinstance(spec, dict) and isinstance(spec.get("alias"), str)
    }


def map_model(ref: str, aliases: dict[str, str]) -> tuple[str, str]:
    """(our model id, "") or ("", why it cannot be mapped)."""
    ref = aliases.get(ref.strip(), ref.strip())
    prefix, slash, rest = ref.partition("/")
    if not slash:
        return "", f"{ref!r} names no provider (OpenClaw picks one at run time); use provider/model"
    ours = PROVIDERS.get(prefix.lower())
    if ours is None:
        return "", (
            f"{ref!r}: provider {prefix!r} has no counterpart here (we speak "
            f"{', '.join(sorted(set(PROVIDERS.values())))})"
        )
    model_id = f"{ours}/{rest}"
    problem = providers.check_model_id(model_id)
    return (model_id, "") if problem is None else ("", f"{ref!r}: {problem}")


def _model_spec(entry: AgentEntry) -> tuple[str, list[str]]:
    """(primary, fallbacks) from the entry's `model`, else the defaults' (a string names a
    primary without fallbacks, as in OpenClaw)."""
    value = entry.get("model")
    if isinstance(value, str):
        return value, []
    if isinstance(value, dict):
        fallbacks = value.get("fallbacks")
        listed = [str(f) for f in fallbacks] if isinstance(fallbacks, list) else []
        return str(value.get("primary") or ""), listed
    return "", []


def wanted_fields(source: Source, entry: AgentEntry) -> tuple[dict[str, Any], list[str]]:
    """What the agent should hold here, and the notes on what cannot be carried over."""
    aliases = _aliases(source)
    notes: list[str] = []
    fields: dict[str, Any] = {"name": entry.name[:120]}
    primary, fallbacks = _model_spec(entry)
    if primary:
        fields["model"], reason = map_model(primary, aliases)
        if reason:
            notes.append(f"model {reason}; the agent uses OPENCLAW_MODEL")
    mapped = []
    for ref in fallbacks:
        model_id, reason = map_model(ref, aliases)
        if model_id:
            mapped.append(model_id)
        else:
            notes.append(f"fallback {reason}")
    fields["fallback_models"] = mapped
    zone = source.section("agents", "defaults").get("userTimezone")
    if isinstance(zone, str) and zone:
        fields["timezone"] = zone
    skills = entry.get("skills")
    if isinstance(skills, list) and skills:
        fields["skills_allow"] = [str(s) for s in skills]
    thinking = entry.get("thinkingDefault")
    if isinstance(thinking, str):
        if thinking in THINKING:
            fields["reasoning_effort"] = THINKING[thinking]
        else:
            notes.append(f"thinking level {thinking!r} has no counterpart")
    _tools(entry, fields, notes)
    _heartbeat(entry, fields, notes)
    notes += [f"{key}: {why}" for key, why in NOT_MAPPED.items() if key in entry.raw]
    return fields, notes


def _tools(entry: AgentEntry, fields: dict[str, Any], notes: list[str]) -> None:
    tools = entry.get("tools")
    if not isinstance(tools, dict):
        return
    profile = tools.get("profile")
    if profile in ToolProfile.values:
        fields["tool_profile"] = profile
    elif profile == "coding":
        fields["tool_profile"] = ToolProfile.FULL.value
        notes.append("tool profile 'coding' became 'full'")
    if tools.get("allow") or tools.get("deny"):
        notes.append("tools.allow/deny name OpenClaw's tools; set ours in the admin")


def _heartbeat(entry: AgentEntry, fields: dict[str, Any], notes: list[str]) -> None:
    beat = entry.get("heartbeat")
    every = beat.get("every") if isinstance(beat, dict) else None
    if not isinstance(every, str):
        return
    try:
        minutes = parse_duration(every) // 60
    except ScheduleError:
        notes.append(f"heartbeat every {every!r} is no duration")
        return
    fields["heartbeat_enabled"] = minutes > 0
    if minutes > 0:
        fields["heartbeat_minutes"] = min(max(minutes, 1), 24 * 60)


def _is_unset(agent: Agent, name: str) -> bool:
    value = getattr(agent, name)
    model_field = Agent._meta.get_field(name)
    default = model_field.get_default() if isinstance(model_field, Field) else None
    if name == "name":
        return value in ("", agent.slug, agent.slug.capitalize())
    return bool(value == default or value in ("", [], None))


def _check(agent: Agent) -> str:
    try:
        agent.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return ""


def plan_agent(source: Source, entry: AgentEntry) -> Step:
    fields, notes = wanted_fields(source, entry)
    label = f"{entry.id} → {entry.slug}"
    existing = Agent.objects.filter(slug=entry.slug).first()
    if existing is None:
        candidate = Agent(slug=entry.slug, **fields)
        if problem := _check(candidate):
            return unmapped("agent", label, problem)
        model = fields.get("model") or "OPENCLAW_MODEL"

        def make() -> str | None:
            ensure_workspace(Agent.objects.create(slug=entry.slug, **fields))
            return None

        step = create("agent", label, f"model {model}", make)
        step.notes = notes
        return step
    fill = {k: v for k, v in fields.items() if getattr(existing, k) != v and _is_unset(existing, k)}
    kept = [
        f"{k} stays {getattr(existing, k)!r} (OpenClaw: {v!r})"
        for k, v in fields.items()
        if getattr(existing, k) != v and k not in fill
    ]
    if not fill:
        done = skip("agent", label, "exists here")
        done.notes = kept
        return done
    for key, value in fill.items():
        setattr(existing, key, value)
    if problem := _check(existing):
        return unmapped("agent", label, problem)

    def update() -> str | None:
        Agent.objects.filter(pk=existing.pk).update(**fill)
        return None

    step = Step("agent", label, "update", f"exists here; filled {', '.join(sorted(fill))}", update)
    step.notes = kept + notes
    return step


def plan_agents(source: Source) -> list[Step]:
    return [plan_agent(source, entry) for entry in source.agents]
