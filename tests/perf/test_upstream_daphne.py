"""Daphne internals that `gateway/server.py` relies on to drain the runtime before Daphne cancels
the connections: `Server.kill_all_applications` (overridden) and `Server.connections` (read).
Read from Daphne's source: importing `daphne.server` would install Twisted's reactor here."""

import ast

from tests.perf.upstream import fingerprint, method_source, revisit

SERVER = "gateway/server.py"


def _source(name: str) -> str:
    return ast.unparse(method_source("daphne.server", "Server", name))


def test_the_shutdown_hook_gateway_server_overrides_is_unchanged() -> None:
    why = revisit(SERVER, "daphne", "Server.kill_all_applications")
    assert "self.kill_all_applications" in _source("run"), why  # still the shutdown trigger
    # The upstream code ours replaces, as read in daphne 4.2.3 (tests/perf/upstream.py).
    kill = method_source("daphne.server", "Server", "kill_all_applications")
    assert fingerprint(kill) == "79ddf267a49065c0", why


def test_connections_still_map_a_protocol_to_its_application_instance() -> None:
    why = revisit(SERVER, "daphne", "Server.connections")
    assert "self.connections = {}" in _source("run"), why
    assert "self.connections[protocol]['application_instance']" in _source("create_application"), (
        why
    )
