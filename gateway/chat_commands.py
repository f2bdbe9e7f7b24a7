"""Chat commands, the same in every channel: /new, /reset, /status, /model, /stop, /help.

A command is answered at once, outside the session's lane (so /stop can stop a busy run), as a
`chat.final` with stop_reason "command". Commands never reach the model or the transcript.
"""

from collections.abc import Awaitable, Callable
from pathlib import Path

from channels.db import database_sync_to_async

from agents import failover, providers, services
from agents.context import history_tokens
from agents.model_chain import model_chain
from agents.models import Session
from agents.services import SessionRef
from agents.transcripts import read_entries_async
from agents.usage import describe_cache
from gateway.state import runtime

Handler = Callable[[SessionRef, str], Awaitable[str]]

HELP = (
    "Commands: /new or /reset (start a fresh session; the old transcript is kept), "
    "/status (agent, model, tokens, context fill), /model <id> (switch this session's model; "
    "/model alone shows it, /model default restores the agent's), /stop (stop the running "
    "answer and drop queued messages), /help."
)


def parse(text: str) -> tuple[str, str] | None:
    """('/name', 'args') for a known command, else None (so '/etc/hosts?' stays a message)."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return None
    name, _, args = stripped.partition(" ")
    name = name.lower()
    return (name, args.strip()) if name in COMMANDS else None


async def _reset(session: SessionRef, args: str) -> str:
    previous, _ = await database_sync_to_async(services.reset_session)(session.key)
    return f"Started a new session. The previous conversation is kept on disk ({previous})."


async def _status(session: SessionRef, args: str) -> str:
    row = await database_sync_to_async(Session.objects.get)(pk=session.pk)
    entries = await read_entries_async(Path(session.transcript))
    used = int(history_tokens(entries) * session.token_ratio)
    fill = 100 * used / max(session.agent.context_window, 1)
    return (
        f"Agent {session.agent.name} ({session.agent.slug}), model {session.model or 'not set'}. "
        f"Session {session.key}: {row.turns} turns, {row.tokens_in:,} tokens in, "
        f"{row.tokens_out:,} out, cost {row.cost:.4f}; "
        f"{describe_cache(row.tokens_in, row.tokens_cached, row.tokens_cache_write)}. "
        f"Context about {fill:.0f}% full ({used:,} of {session.agent.context_window:,} tokens)."
        + _cooling(session)
    )


def _cooling(session: SessionRef) -> str:
    """Which of the session's models failed lately and are skipped for their fallbacks."""
    cooling = [
        f"{call.model} ({left:.0f} s more)"
        for call in model_chain(session)
        if (left := failover.cooling_left(call))
    ]
    if not cooling:
        return ""
    return f" Skipped after failing, their fallbacks answer: {', '.join(cooling)}."


async def _model(session: SessionRef, args: str) -> str:
    if not args:
        return f"This session uses {session.model or 'no model (set OPENCLAW_MODEL)'}."
    model = "" if args.lower() == "default" else args.split()[0]
    if problem := providers.check_model_id(model):
        return f"Not a model id ({problem}) This session still uses {session.model or 'none'}."
    await database_sync_to_async(services.set_session_model)(session.key, model)
    return f"This session now uses {model or session.agent.model or 'the default model'}."


async def _stop(session: SessionRef, args: str) -> str:
    stopped = runtime.lanes.abort_session(session.key)
    return f"Stopped {stopped} run(s)." if stopped else "Nothing is running."


async def _help(session: SessionRef, args: str) -> str:
    return HELP


COMMANDS: dict[str, Handler] = {
    "/new": _reset,
    "/reset": _reset,
    "/status": _status,
    "/model": _model,
    "/stop": _stop,
    "/help": _help,
}


# In a group, anyone present can type a command: what changes cost or the shared session is
# the owner's to decide.
OWNER_ONLY_IN_GROUPS = frozenset({"/model", "/new", "/reset"})


async def run_command(session: SessionRef, name: str, args: str, *, from_owner: bool = True) -> str:
    """Answer one command. `from_owner`: the sender is one of the account's owners (always true
    for the web chat and the CLI)."""
    if session.is_group and not from_owner and name in OWNER_ONLY_IN_GROUPS:
        return f"Only the owner can use {name} in a group chat."
    return await COMMANDS[name](session, args)
