"""Any memory/*.md is indexed (a name starting with a date belongs to that day), and a file
created, renamed or deleted on disk is seen by the very next search, without waiting for a scan."""

import datetime as dt
import os

import pytest

from agents.models import Agent
from agents.services import NotFound
from memory import services
from memory.files import UnsafePath
from memory.models import MemoryChunk, MemoryNote

pytestmark = [pytest.mark.services, pytest.mark.django_db]

MEETING = "# Kickoff\n\n- Priya owns the harbour crane budget.\n- Next review on Friday.\n"


def _paths(agent: Agent, query: str) -> list[str]:
    return [h.path for h in services.search_memory(agent, query).hits]


def test_a_named_log_file_is_indexed_and_belongs_to_its_day(agent: Agent) -> None:
    (agent.workspace / "memory" / "2026-11-02-meeting.md").write_text(MEETING)
    (agent.workspace / "memory" / "projects.md").write_text("- The crane project is late.\n")
    report = services.sync_agent(agent)
    assert sorted(report.changed) == ["memory/2026-11-02-meeting.md", "memory/projects.md"]
    note = MemoryNote.objects.get(agent=agent, name="2026-11-02-meeting.md")
    assert note.date == dt.date(2026, 11, 2)
    assert MemoryNote.objects.get(agent=agent, name="projects.md").date is None
    hit = services.search_memory(agent, "harbour crane budget").hits[0]
    assert (hit.path, hit.date, hit.start_line) == (
        "memory/2026-11-02-meeting.md",
        dt.date(2026, 11, 2),
        3,
    )
    part = services.get_memory_file(agent, "memory/2026-11-02-meeting.md", 3, 1)
    assert part.text == "- Priya owns the harbour crane budget."


def test_a_file_created_on_disk_is_found_by_the_next_search(agent: Agent) -> None:
    services.sync_agent(agent)
    assert _paths(agent, "crane") == []
    (agent.workspace / "memory" / "2026-11-02-meeting.md").write_text(MEETING)
    (agent.workspace / "memory" / "2020-01-01.md").write_text("An old log about the crane.\n")
    assert sorted(_paths(agent, "crane")) == [
        "memory/2020-01-01.md",
        "memory/2026-11-02-meeting.md",
    ]


def test_a_renamed_or_deleted_file_leaves_search_at_once(agent: Agent) -> None:
    folder = agent.workspace / "memory"
    (folder / "2026-11-02-meeting.md").write_text(MEETING)
    assert _paths(agent, "crane") == ["memory/2026-11-02-meeting.md"]
    os.replace(folder / "2026-11-02-meeting.md", folder / "2026-11-03-meeting.md")
    assert _paths(agent, "crane") == ["memory/2026-11-03-meeting.md"]
    (folder / "2026-11-03-meeting.md").unlink()
    assert _paths(agent, "crane") == []
    assert MemoryNote.objects.get(agent=agent, name="2026-11-03-meeting.md").missing
    assert not MemoryChunk.objects.filter(path__startswith="memory/2026-11-0").exists()
    with pytest.raises(NotFound):
        services.get_memory_file(agent, "memory/2026-11-03-meeting.md")


@pytest.mark.parametrize(
    "path",
    ["memory/../MEMORY2.md", "memory/.hidden.md", "memory/sub/x.md", "memory/x.txt", "notes.md"],
)
def test_other_paths_stay_refused(agent: Agent, path: str) -> None:
    with pytest.raises(UnsafePath):
        services.get_memory_file(agent, path)


def test_reindex_covers_named_files(agent: Agent) -> None:
    (agent.workspace / "memory" / "projects.md").write_text("- The crane project is late.\n")
    services.sync_agent(agent)
    MemoryChunk.objects.filter(agent=agent).delete()
    assert services.count_documents(agent) == 2  # MEMORY.md (missing) and projects.md
    assert services.reindex(agent) == 1
    assert _paths(agent, "crane") == ["memory/projects.md"]
