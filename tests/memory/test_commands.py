"""`manage.py memory sync | reindex | search`."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from agents.models import Agent

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def _call(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("memory", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_sync_reindex_and_search(agent: Agent) -> None:
    (agent.workspace / "MEMORY.md").write_text("# Memory\n\n- The user's cat is named Miso.\n")
    (agent.workspace / "memory" / "2024-01-02.md").write_text("Took Miso to the vet.\n")
    out, _ = _call("sync")
    assert "ada: MEMORY.md, memory/2024-01-02.md" in out
    (agent.workspace / "memory" / "2024-01-02.md").unlink()
    out, _ = _call("sync")
    assert "ada: memory/2024-01-02.md is missing on disk" in out

    out, err = _call("reindex", "--agent", "ada")
    assert out.strip() == "Indexed 1 chunks."
    assert (
        err == ""
    )  # the progress bar is drawn on a terminal only (tests/operator/test_progress.py)

    out, _ = _call("search", "miso", "--agent", "ada", "--json")
    payload = json.loads(out)
    assert payload["hits"][0]["path"] == "MEMORY.md"
    assert payload["hits"][0]["start_line"] == 3
    out, _ = _call("search", "miso", "--agent", "ada")
    assert out.startswith("MEMORY.md:3-3  score ")


def test_unknown_agent_is_a_command_error(agent: Agent) -> None:
    with pytest.raises(CommandError, match="No agent 'nobody'"):
        _call("search", "x", "--agent", "nobody")
