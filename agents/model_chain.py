"""The models a call tries, in order: the session's (or a given) model, then the agent's
fallbacks, each as call settings (`agents.providers.call_settings`: provider, key, base URL)."""

from agents.llm import ModelSettings
from agents.providers import call_settings
from agents.services import AgentConfig, SessionRef


def model_chain(session: SessionRef) -> list[ModelSettings]:
    """The session's model, then the agent's fallbacks, as call settings."""
    return agent_model_chain(session.agent, session.model)


def agent_model_chain(agent: AgentConfig, model: str) -> list[ModelSettings]:
    """`model`, then the agent's fallbacks, as call settings (also for calls outside a session,
    such as nightly curation)."""
    specs: list[dict[str, str]] = [{"model": model}]
    for item in agent.fallback_models:
        specs.append({"model": item} if isinstance(item, str) else dict(item))
    return [
        call_settings(
            spec["model"],
            base_url=spec.get("base_url") or agent.base_url,
            api_key_env=spec.get("api_key_env") or agent.api_key_env,
            temperature=agent.temperature,
            max_tokens=agent.max_output_tokens,
            reasoning_effort=agent.reasoning_effort,
        )
        for spec in specs
    ]
