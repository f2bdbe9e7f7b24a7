"""MCP servers as tool sources: the `MCPServer` model (app label `mcp`), one supervised client
session per server, and their tools offered to agents as `<server>__<tool>`."""
