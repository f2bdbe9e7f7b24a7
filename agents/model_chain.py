"""The models a call tries, in order: the session's (or a given) model, then the agent's
fallbacks, each as call settings with its key, base URL and limits."""

from django.conf import settings

from agents.llm import ModelSettings
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
    chain = []
    for spec in specs:
        key_env = spec.get("api_key_env") or agent.api_key_env
        chain.append(
            ModelSettings(
                model=spec["model"],
                base_url=spec.get("base_url") or agent.base_url,
                api_key=settings.OPENCLAW_PROVIDER_KEYS.get(key_env, ""),
                api_key_env=key_env,
                temperature=agent.temperature,
                max_tokens=agent.max_output_tokens,
                timeout=settings.OPENCLAW_MODEL_TIMEOUT,
                idle_timeout=settings.OPENCLAW_STREAM_IDLE_TIMEOUT,
            )
        )
    return chain
