"""What a turn may ask of the process that runs it: the typed seam between the loop and its
host (the gateway). The loop and the tools call these hooks and know nothing else of the
gateway; a turn run without a host (tests, commands) gets the defaults: no messaging of other
sessions, no exec, nothing to settle."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from agents.trust import Trust

SendToSession = Callable[[str, str], Awaitable[str]]
ApproveExec = Callable[[str], Awaitable[str]]
TurnEnded = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class TurnHost:
    """Hooks of one turn's host.

    - `trust`: whom the turn speaks for (`agents.trust`); the loop uses the lower of this and
      the session's own level, so a host can narrow what a turn reaches, never widen it.
    - `exec_enabled`: the `exec` tool may run (the agent's policy, decided by the host).
    - `send_to_session(session_key, text)`: queue `text` as a turn in another session of the
      agent and return its run id; None when this turn may not message other sessions (a turn
      started that way, so two sessions cannot ping-pong forever).
    - `approve_exec(command)`: wait for an operator's verdict ("approved", "denied",
      "expired"); None when exec needs no approval.
    - `approve_tool(summary)`: the same for a call of a tool whose source requires approval
      (an MCP server's, `agents.mcp`); None when no operator can be asked (the call is refused).
    - `turn_ended(outcome)`: called on the event loop once the turn's answer or error is in the
      transcript and just before it goes out, with the stop reason (or "error"). MUST NOT
      block; work it starts is the host's own to finish.
    """

    trust: Trust = "owner"
    exec_enabled: bool = False
    send_to_session: SendToSession | None = None
    approve_exec: ApproveExec | None = None
    approve_tool: ApproveExec | None = None
    turn_ended: TurnEnded | None = None
