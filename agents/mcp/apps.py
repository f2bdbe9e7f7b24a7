"""App config of the MCP servers app (label `mcp`)."""

from django.apps import AppConfig


class MCPConfig(AppConfig):
    name = "agents.mcp"
    label = "mcp"
    verbose_name = "MCP servers"
    default_auto_field = "django.db.models.BigAutoField"
