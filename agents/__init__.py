"""The agent loop, agents and their sessions."""
