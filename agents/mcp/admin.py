"""Admin for MCP servers: what each runs or reaches, its agents, its policy flags."""

from django.contrib import admin

from agents.mcp.models import MCPServer
from openclaw.audit.admin import AuditedAdminMixin


@admin.register(MCPServer)
class MCPServerAdmin(AuditedAdminMixin, admin.ModelAdmin[MCPServer]):
    list_display = [
        "name",
        "transport",
        "target",
        "enabled",
        "timeout",
        "approval_required",
        "allow_in_groups",
        "allow_paired",
    ]
    list_filter = ["enabled", "transport", "approval_required", "allow_in_groups"]
    search_fields = ["name", "command", "url"]
    filter_horizontal = ["agents"]
    fieldsets = [
        (None, {"fields": ["name", "enabled", "transport", "agents"]}),
        ("stdio", {"fields": ["command", "args", "env"]}),
        ("Streamable HTTP", {"fields": ["url", "headers"]}),
        (
            "Policy",
            {"fields": ["timeout", "approval_required", "allow_in_groups", "allow_paired"]},
        ),
    ]

    @admin.display(description="runs / reaches")
    def target(self, server: MCPServer) -> str:
        return (
            " ".join([server.command, *server.args]) if server.transport == "stdio" else server.url
        )
