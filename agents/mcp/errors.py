"""What a call to an MCP server can fail with (the messages are for the model to read)."""


class MCPUnavailable(Exception):
    """The server cannot serve now (it failed to start, crashed, was reconfigured or is
    restarting). The message says which."""


class MCPTimeout(Exception):
    """A request took longer than the server's timeout."""


class MCPRefused(Exception):
    """The server answered the request with an error (unknown tool, invalid arguments)."""
