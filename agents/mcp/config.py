"""What the client needs to know about an MCP server, detached from the ORM (`ServerConfig`), and
the sync services that read the servers of an agent or by name."""

from dataclasses import dataclass, field

from django.conf import settings

from agents.mcp.models import MCPServer, Transport

SEPARATOR = "__"  # `<server>__<tool>`


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """One server as configured. Two configs are equal when nothing that matters to its
    connection or its policy changed (a changed one restarts the connection)."""

    name: str
    transport: str
    command: str = ""
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()  # (variable the server gets, gateway variable)
    url: str = ""
    headers: tuple[tuple[str, str], ...] = ()  # (header, gateway variable)
    timeout: float = 30.0
    approval_required: bool = False
    allow_in_groups: bool = False
    allow_paired: bool = False
    missing: tuple[str, ...] = field(default=(), compare=False)  # gateway variables not set

    @classmethod
    def from_model(cls, server: MCPServer) -> "ServerConfig":
        env = tuple(sorted((str(k), str(v)) for k, v in (server.env or {}).items()))
        headers = tuple(sorted((str(k), str(v)) for k, v in (server.headers or {}).items()))
        known = settings.OPENCLAW_MCP_ENV
        missing = tuple(sorted({v for _, v in env + headers if v not in known}))
        return cls(
            name=server.name,
            transport=server.transport,
            command=server.command,
            args=tuple(str(a) for a in server.args or ()),
            env=env,
            url=server.url,
            headers=headers,
            timeout=server.timeout,
            approval_required=server.approval_required,
            allow_in_groups=server.allow_in_groups,
            allow_paired=server.allow_paired,
            missing=missing,
        )

    @property
    def is_stdio(self) -> bool:
        return self.transport == Transport.STDIO

    @property
    def target(self) -> str:
        """What it runs or reaches, for lists and logs."""
        return " ".join((self.command, *self.args)) if self.is_stdio else self.url

    def child_env(self) -> dict[str, str]:
        """The variables the stdio server gets beyond the SDK's safe defaults (PATH, HOME…)."""
        known = settings.OPENCLAW_MCP_ENV
        return {name: known[var] for name, var in self.env if var in known}

    def http_headers(self) -> dict[str, str]:
        known = settings.OPENCLAW_MCP_ENV
        return {name: known[var] for name, var in self.headers if var in known}

    def secrets(self) -> list[str]:
        """The values this server was given: masked wherever its output or errors show them."""
        values = {*self.child_env().values(), *self.http_headers().values()}
        return sorted((v for v in values if len(v) >= 6), key=len, reverse=True)

    def tool_name(self, tool: str) -> str:
        return f"{self.name}{SEPARATOR}{tool}"


def servers_for_agent(agent_slug: str) -> list[ServerConfig]:
    """The enabled servers an agent uses, by name."""
    rows = MCPServer.objects.filter(enabled=True, agents__slug=agent_slug).order_by("name")
    return [ServerConfig.from_model(row) for row in rows]


def all_servers() -> list[tuple[ServerConfig, bool, list[str]]]:
    """Every server: its config, whether it is enabled, and the slugs of its agents."""
    rows = MCPServer.objects.prefetch_related("agents").order_by("name")
    return [
        (ServerConfig.from_model(row), row.enabled, sorted(a.slug for a in row.agents.all()))
        for row in rows
    ]


def server_named(name: str) -> ServerConfig | None:
    row = MCPServer.objects.filter(name=name).first()
    return None if row is None else ServerConfig.from_model(row)
