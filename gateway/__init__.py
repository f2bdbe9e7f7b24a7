"""The gateway process: its connections, the router and the session lanes."""
