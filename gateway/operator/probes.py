"""Live checks behind `manage.py doctor` and `manage.py onboard`: the model (one tiny call; a
refusal shows the provider's own message, then our fix), the Celery broker, channel credentials
(present; Slack `auth.test`, Telegram `getMe`), the instance lock. Each answers a `Finding`
whose fix says what to do; none ever shows a secret's value.
"""

import asyncio
import os
import re
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from agents import llm_clients, providers
from agents.llm import ModelError, ModelSettings
from agents.llm_chat import ProviderChatModel
from agents.models import Agent
from gateway.adapters.base import AdapterError
from gateway.lock import held_by, running_gateway
from gateway.models import ChannelAccount
from gateway.operator.doctor import Finding
from gateway.operator.permissions import permission_problems

MODEL_CHECK_PROMPT = [{"role": "user", "content": "Reply with the single word OK."}]
OPENAI_URL = "https://api.openai.com/v1"


def agent_model_settings(agent: Agent, wait: float) -> ModelSettings:
    """The call settings an agent's turns use (its overrides, else the global defaults)."""
    return providers.call_settings(
        agent.model or settings.OPENCLAW_MODEL,
        base_url=agent.base_url,
        api_key_env=agent.api_key_env,
        max_tokens=16,
        timeout=wait,
        idle_timeout=wait,
        reasoning_effort=agent.reasoning_effort,
    )


def _said(error: ModelError) -> str:
    """The provider's own words after our summary: ': <its message>' ("" when it said none)."""
    return f": {error.detail}" if error.detail else "."


def _rejected_parameter(error: ModelError) -> str | None:
    """The request parameter a 400 names (`max_tokens`, `temperature`…), if any."""
    for text in (error.message, error.detail):
        if found := re.search(r"rejected `([\w.]+)`|parameter:? '([\w.]+)'", text):
            return found.group(1) or found.group(2)
    return None


def _parameter_fix(param: str, call: ModelSettings) -> str:
    if param == "max_tokens":
        return (
            "The model rejected `max_tokens`: it is a reasoning model, which takes "
            "`max_completion_tokens`. Name it with its provider (openai/"
            f"{providers.split(call.model)[1]}, or azure/<deployment>) so requests use that."
        )
    if param in ("temperature", "top_p"):
        return (
            f"The model rejected `{param}`: reasoning models take only the default. Clear the "
            "agent's temperature in the admin (Agents > the agent)."
        )
    return f"The model rejected `{param}`: remove that setting from the agent in the admin."


def _status_finding(error: ModelError, call: ModelSettings, where: str) -> Finding:
    """An answer with an error status: our summary, the provider's own message, our fix."""
    provider, name = providers.split(call.model)
    key = call.api_key_env or provider.key_env
    status = error.status
    listing = f"`curl {where.rstrip('/')}/models`"
    if status in (401, 403):
        return Finding(
            "critical",
            f"{where} refused the API key in {key} (HTTP {status}){_said(error)}",
            f"Set {key} to a valid key for this provider (in the environment, .env or "
            "OPENCLAW_SECRETS_FILE), then restart the gateway.",
        )
    if status == 404:
        if provider.api == "azure":
            fix = f"Use the deployment's name as the model (azure/<deployment>), not {name!r}."
        elif provider.api == "anthropic":
            fix = f"Use a model id Anthropic lists, e.g. {providers.example(provider)}."
        else:
            fix = (
                f"Use a model id the server lists ({listing}; Ollama: `ollama pull {name}`), "
                "or check that the base URL ends in /v1."
            )
        return Finding(
            "critical",
            f"{where} does not know the model {name!r} (HTTP 404){_said(error)}",
            fix,
        )
    if status == 429 or error.code == "rate_limited":
        if "quota" in error.detail.lower() or "billing" in error.detail.lower():
            return Finding(
                "critical",
                f"{where} refuses requests: the key in {key} is out of quota (HTTP 429)"
                f"{_said(error)}",
                "Add credit or raise the plan's limit at the provider; a second key in "
                f"{key}_2 is used when this one is refused.",
            )
        return Finding(
            "warning",
            f"{where} is rate limiting requests (HTTP 429); the model is reachable{_said(error)}",
            f"Wait, or raise the provider account's limits (or add a second key in {key}_2).",
        )
    if status == 529 or error.code == "overloaded":
        return Finding(
            "warning",
            f"{where} is overloaded (HTTP {status}); the model is reachable{_said(error)}",
            "Wait and try again; fallback models answer meanwhile.",
        )
    if param := _rejected_parameter(error):
        return Finding(
            "critical",
            f"{where} rejected the request (HTTP {status}){_said(error)}",
            _parameter_fix(param, call),
        )
    if status is not None and status >= 500:
        return Finding(
            "critical",
            f"{where} failed on its side (HTTP {status}){_said(error)}",
            "Try again later or check the provider's status page; fallback models answer "
            "meanwhile.",
        )
    return Finding(
        "critical",
        f"{where} refused the request (HTTP {status}){_said(error)}",
        "Read the provider's message above: it names what to change (the model id, the "
        "agent's settings or the account).",
    )


def explain_model_error(error: ModelError, call: ModelSettings, wait: float) -> Finding:
    """What a failed model call means and how to fix it, one line each: an answer with an error
    status shows the provider's own message after our summary."""
    where = call.base_url or OPENAI_URL
    if error.code == "model_not_configured":  # a set-up step still to do, not a breakage
        return Finding(
            "warning",
            error.message,
            "Run `manage.py onboard` (or set OPENCLAW_MODEL plus OPENAI_API_KEY or "
            "OPENAI_BASE_URL).",
        )
    if error.code == "model_unreachable":
        return Finding(
            "critical",
            f"Cannot reach the model server at {where} (connection failed).",
            "Start the server, or fix the base URL (OPENAI_BASE_URL or the agent's base URL; "
            f"it usually ends in /v1); `curl {where.rstrip('/')}/models` must answer.",
        )
    if error.code == "timeout":
        return Finding(
            "critical",
            f"The model at {where} did not answer within {wait:g} s.",
            "Check that the server runs and is not overloaded (a local model may still be "
            "loading), then try again; raise OPENCLAW_MODEL_TIMEOUT for slow models.",
        )
    if error.status is not None:
        return _status_finding(error, call, where)
    return Finding(
        "critical",
        f"The model call to {where} failed: {error.message}",
        "Read the model server's log; try the same model id with curl.",
    )


async def probe_model(call: ModelSettings, wait: float) -> Finding:
    """One short completion (at most 16 tokens); ok names the model and where it answered."""
    where = call.base_url or OPENAI_URL
    model = ProviderChatModel()
    # The SDK is imported first: `wait` is the model's time to answer, not ours to start.
    await llm_clients.load(
        "anthropic" if providers.split(call.model)[0].api == "anthropic" else "openai"
    )
    try:
        async with asyncio.timeout(wait + 1):
            async for _event in model.stream(MODEL_CHECK_PROMPT, call):
                pass
    except ModelError as error:
        return explain_model_error(error, call, wait)
    except TimeoutError:
        return explain_model_error(ModelError("timeout", "no answer"), call, wait)
    finally:
        await model.aclose()
    return Finding("ok", f"Model {call.model!r} answers at {where}.")


async def probe_agent_models(agents: list[Agent], wait: float) -> list[Finding]:
    """One probe per distinct model setting among the enabled agents, run in parallel."""
    calls: dict[ModelSettings, list[str]] = {}
    for agent in agents:
        calls.setdefault(agent_model_settings(agent, wait), []).append(agent.slug)
    results = await asyncio.gather(*(probe_model(call, wait) for call in calls))
    found = []
    for (_call, slugs), result in zip(calls.items(), results, strict=True):
        who = "Agent " if len(slugs) == 1 else "Agents "
        found.append(
            Finding(result.severity, f"{who}{', '.join(slugs)}: {result.what}", result.fix)
        )
    return found


async def probe_account(account: ChannelAccount, wait: float) -> Finding:
    """Credentials present; for Slack and Telegram, one cheap authenticated call."""
    from gateway.platforms import platform

    env = settings.OPENCLAW_CHANNEL_ENV
    names = dict(account.credentials or {})
    spec = platform(account.channel)
    missing = [role for role in spec.required if not env.get(names.get(role, ""))]
    if missing:
        variables = ", ".join(names.get(role, f"<{role}>") for role in missing)
        return Finding(
            "warning",
            f"Channel account {account} is disabled: {variables} not set.",
            f"Set {variables} (see docs/platforms/{account.channel}.md), then restart.",
        )
    secrets = {role: env.get(var, "") for role, var in names.items()}
    adapter = spec.adapter(account.account_id, secrets, account.options or {})
    try:
        async with asyncio.timeout(wait):
            who = await _identify(adapter)
    except AdapterError as exc:
        if exc.permanent:
            return Finding(
                "critical",
                f"Channel account {account}: the platform refused the credentials ({exc}).",
                f"Replace the token in {', '.join(names.values())} with a valid one.",
            )
        return Finding(
            "warning",
            f"Channel account {account}: the platform could not be reached ({exc}).",
            "Check this host's network access to the platform API, then run doctor again.",
        )
    except TimeoutError:
        return Finding(
            "warning",
            f"Channel account {account}: the platform did not answer within {wait:g} s.",
            "Check this host's network access to the platform API, then run doctor again.",
        )
    finally:
        await adapter.close()
    return Finding("ok", f"Channel account {account}: credentials set{who}.")


async def _identify(adapter: object) -> str:
    from gateway.adapters.slack import SlackAdapter
    from gateway.adapters.telegram import TelegramAdapter

    if isinstance(adapter, SlackAdapter):
        return f", auth.test answers (bot user {await adapter.bot_user_id()})"
    if isinstance(adapter, TelegramAdapter):
        bot = await adapter.identity()
        return f", getMe answers (@{bot.username})"
    return " (not verified: the platform has no cheap check)"


def probe_broker(wait: float) -> Finding:
    """The Celery broker accepts a connection (background jobs only; the gateway never waits)."""
    from openclaw.celery import check_broker

    problem = check_broker(wait)
    if problem is None:
        return Finding("ok", "Celery broker reachable.")
    return Finding(
        "warning",
        f"Celery broker not reachable: {problem.rstrip('.')}. Memory curation and reindex "
        "jobs wait until it is back (chat is not affected).",
        "Start Redis (or fix CELERY_BROKER_URL / REDIS_URL), or unset them to use the "
        "filesystem broker in OPENCLAW_HOME/broker.",
    )


def probe_lock() -> Finding:
    """Whether a gateway holds the single-instance lock (tested without blocking it)."""
    path = Path(settings.OPENCLAW_HOME) / "gateway.lock"
    if not path.exists():
        return Finding("ok", "No gateway has run on this state directory yet.")
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError as exc:
        return Finding(
            "critical",
            f"The lock file {path} cannot be opened ({exc.strerror}): the gateway cannot start.",
            f"Give the gateway's user ownership: chown $(id -un) {path}; chmod 600 {path}",
        )
    try:
        holder = held_by(fd)
    finally:
        os.close(fd)
    if holder is None:
        return Finding("ok", f"No gateway is running (the lock {path} is free).")
    where = f" at {holder.address}" if holder.address else ""
    return Finding("ok", f"A gateway is running{where} (pid {holder.pid} holds {path}).")


def gateway_running() -> bool:
    """Whether a gateway holds this state directory's lock (tested without blocking it)."""
    return running_gateway(Path(settings.OPENCLAW_HOME) / "gateway.lock") is not None


def permission_findings() -> Iterator[Finding]:
    """An ok line when the state directory is 0700 and its secrets 0600 (problems are reported
    by the security checks, with their fixes)."""
    if not permission_problems():
        home = settings.OPENCLAW_HOME
        yield Finding("ok", f"State directory {home} is private (0700); its secrets are 0600.")


async def reachability_findings(wait: float) -> list[Finding]:
    """Models of every enabled agent, channel accounts, broker, lock and permissions."""
    from channels.db import database_sync_to_async

    def load() -> tuple[list[Agent], list[ChannelAccount]]:
        from gateway.platforms import ensure_default_accounts

        ensure_default_accounts()  # as the gateway does at start, from SLACK_BOT_TOKEN & co.
        agents = list(Agent.objects.filter(enabled=True).order_by("slug"))
        accounts = ChannelAccount.objects.filter(enabled=True).exclude(channel="web")
        return agents, list(accounts.order_by("channel", "account_id"))

    agents, accounts = await database_sync_to_async(load)()
    found: list[Finding] = []
    if agents:
        found += await probe_agent_models(agents, wait)
    else:
        found.append(
            Finding("warning", "No enabled agent.", "Run `manage.py onboard` to create one.")
        )
    found += await asyncio.gather(*(probe_account(account, wait) for account in accounts))
    if not accounts:
        found.append(
            Finding(
                "ok",
                "No chat platform configured: the web chat and `manage.py chat` only (set "
                "SLACK_BOT_TOKEN, TELEGRAM_BOT_TOKEN or WHATSAPP_ACCESS_TOKEN to add one; "
                "docs/platforms/).",
            )
        )
    found.append(await asyncio.to_thread(probe_broker, wait))
    found.append(probe_lock())
    found += permission_findings()
    return found
