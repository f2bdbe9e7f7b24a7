"""`MCPServer`: one MCP server an agent takes tools from, over stdio (a child process the gateway
starts) or streamable HTTP (a URL). Secrets never live here: the environment variables and
headers it gets name variables of the gateway's environment (`MCP_…`, see settings)."""

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

# A tool is offered as `<server>__<tool>` and provider tool names allow [A-Za-z0-9_-]{1,64}: the
# server's name leaves room for the tool's, and holds no `__` (the separator).
NAME = re.compile(r"[a-z][a-z0-9_-]{0,23}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
HEADER_NAME = re.compile(r"[A-Za-z0-9-]+")
GATEWAY_PREFIX = "MCP_"  # only these variables of the gateway's environment can be passed on


def check_name(value: str) -> None:
    if not NAME.fullmatch(value) or "__" in value or value.endswith("_"):
        raise ValidationError(
            "Lower-case letters, digits, '-' and '_' (no '__', not at the end), starting with a "
            "letter, at most 24 characters: tools are offered as <name>__<tool>."
        )


def _check_args(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError('A list of strings, for example ["-m", "my_server"].')


def _check_mapping(value: object, key: re.Pattern[str], what: str) -> None:
    if not isinstance(value, dict) or not all(
        isinstance(k, str)
        and key.fullmatch(k)
        and isinstance(v, str)
        and v.startswith(GATEWAY_PREFIX)
        and ENV_NAME.fullmatch(v)
        for k, v in value.items()
    ):
        raise ValidationError(
            f"An object mapping {what} to the name of a gateway environment variable starting "
            f'with {GATEWAY_PREFIX}, for example {{"GITHUB_TOKEN": "MCP_GITHUB_TOKEN"}}.'
        )


def _check_env(value: object) -> None:
    _check_mapping(value, ENV_NAME, "each variable the server gets")


def _check_headers(value: object) -> None:
    _check_mapping(value, HEADER_NAME, "each HTTP header")


class Transport(models.TextChoices):
    STDIO = "stdio", "stdio: a command the gateway starts"
    HTTP = "http", "streamable HTTP: a URL"


class MCPServer(models.Model):
    name = models.CharField(
        max_length=24,
        unique=True,
        validators=[check_name],
        help_text="Its tools are offered as <name>__<tool>.",
    )
    transport = models.CharField(max_length=8, choices=Transport.choices, default=Transport.STDIO)
    command = models.CharField(
        max_length=500, blank=True, help_text="stdio: the executable (a path or a name on PATH)."
    )
    args = models.JSONField(
        default=list, blank=True, validators=[_check_args], help_text="stdio: its arguments."
    )
    env = models.JSONField(
        default=dict,
        blank=True,
        validators=[_check_env],
        help_text="stdio: variables the server gets, by the gateway variable holding each value, "
        'e.g. {"GITHUB_TOKEN": "MCP_GITHUB_TOKEN"}. Nothing else of the gateway\'s environment '
        "is passed on but PATH, HOME, USER, LOGNAME, SHELL and TERM.",
    )
    url = models.URLField(max_length=500, blank=True, help_text="streamable HTTP: the endpoint.")
    headers = models.JSONField(
        default=dict,
        blank=True,
        validators=[_check_headers],
        help_text="HTTP: headers sent, by the gateway variable holding each value, e.g. "
        '{"Authorization": "MCP_SEARCH_AUTH"} with MCP_SEARCH_AUTH="Bearer …".',
    )
    enabled = models.BooleanField(default=True)
    agents = models.ManyToManyField(
        "agents.Agent",
        related_name="mcp_servers",
        blank=True,
        help_text="The agents offered this server's tools.",
    )
    timeout = models.FloatField(
        default=30.0,
        validators=[MinValueValidator(1.0), MaxValueValidator(600.0)],
        help_text="Seconds a call (and the start) may take before it fails as a tool error.",
    )
    approval_required = models.BooleanField(
        default=False, help_text="Every call waits for an operator's approval (as exec does)."
    )
    allow_in_groups = models.BooleanField(
        default=False, help_text="Offer its tools in group chats (off: never in groups)."
    )
    allow_paired = models.BooleanField(
        default=False,
        help_text="Offer its tools to paired or allowlisted strangers in their direct messages.",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "MCP server"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.transport == Transport.STDIO and not self.command.strip():
            errors["command"] = "A stdio server needs a command."
        if self.transport == Transport.HTTP and not self.url:
            errors["url"] = "An HTTP server needs a URL."
        if errors:
            raise ValidationError(errors)
