"""Other programs driving agents over HTTP: the OpenAI-compatible API (`/v1/chat/completions`,
`/v1/models`; the gateway token) and the hooks (`/hooks/agent`, `/hooks/wake`; their own token).
Each request is a message through the router like any chat's, answered by a real turn."""
