"""Agent tools: the `Tool` protocol, the registry, and one module per tool family."""
