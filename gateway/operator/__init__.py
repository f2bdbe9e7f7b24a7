"""Operator tooling: set-up, health checks, the admin dashboard, the status report and the
terminal chat client. Nothing on a turn's path imports it."""
