"""Which environment variables a channel account uses, and whether each is set: for the admin,
which shows names only, never a value.

The variables it names under `credentials`, then, for an account named `default`, the
conventional ones of its platform it does not name yet: those it takes at the next start once
they are set (`gateway.platforms.ensure_default_accounts`).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from gateway.models import ChannelAccount
from gateway.platforms import DEFAULTS

Use = Literal["used", "next start"]


@dataclass(frozen=True, slots=True)
class Variable:
    role: str  # what the account uses it for: bot_token, app_token, signing_secret, ...
    name: str  # the environment variable
    is_set: bool
    use: Use  # "used" now; "next start": taken when the gateway next starts, once set


def account_variables(account: ChannelAccount, env: Mapping[str, str]) -> list[Variable]:
    """The variables `account` uses or would take, each with whether `env` holds a value."""
    named = dict(account.credentials or {})
    found = [Variable(role, name, bool(env.get(name)), "used") for role, name in named.items()]
    if account.account_id == "default":
        for role, name in DEFAULTS.get(account.channel, {}).items():
            if role not in named:
                found.append(Variable(role, name, bool(env.get(name)), "next start"))
    return found
