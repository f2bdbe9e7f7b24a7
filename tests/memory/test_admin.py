"""Admin editor: saves write the file, stale forms get a conflict, preview is safe, revisions
restore, and the search page finds memory."""

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from agents.models import Agent
from memory import services
from memory.models import DailyLog, MemoryRevision, WorkingMemory
from openclaw.audit.models import AuditEvent

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def _editor(agent: Agent) -> str:
    services.read_working_memory(agent)  # creates the row
    pk = WorkingMemory.objects.get(agent=agent).pk
    return reverse("admin:memory_workingmemory_change", args=[pk])


def _base_hash(html: str) -> str:
    match = re.search(r'name="base_hash" value="([0-9a-f]{64})"', html)
    assert match, "no base_hash field in the form"
    return match.group(1)


def test_admin_edit_writes_the_file(agent: Agent, staff: Client) -> None:
    (agent.workspace / "MEMORY.md").write_text("# Memory\n")
    url = _editor(agent)
    page = staff.get(url)
    assert page.status_code == 200
    response = staff.post(
        url, {"content": "# Memory\r\n\r\n- likes tea\r\n", "base_hash": _base_hash(page.text)}
    )
    assert response.status_code == 302
    assert (agent.workspace / "MEMORY.md").read_text() == "# Memory\n\n- likes tea\n"
    row = WorkingMemory.objects.get(agent=agent)
    assert row.updated_by == "admin:root"
    assert [h.path for h in services.search_memory(agent, "tea").hits] == ["MEMORY.md"]
    event = AuditEvent.objects.get(action="memory.edited")
    assert event.actor == "user:root"


def test_stale_form_gets_a_conflict_and_keeps_the_users_text(agent: Agent, staff: Client) -> None:
    (agent.workspace / "MEMORY.md").write_text("# Memory\n")
    url = _editor(agent)
    stale = _base_hash(staff.get(url).text)
    (agent.workspace / "MEMORY.md").write_text("# Memory\n\n- edited on disk meanwhile\n")
    response = staff.post(url, {"content": "my careful edit", "base_hash": stale})
    assert response.status_code == 200
    assert "changed since your copy was read" in response.text
    assert "my careful edit" in response.text
    assert "edited on disk meanwhile" in response.text  # shown as the current version
    assert (agent.workspace / "MEMORY.md").read_text() == "# Memory\n\n- edited on disk meanwhile\n"


def test_preview_renders_markdown_safely_without_saving(agent: Agent, staff: Client) -> None:
    (agent.workspace / "MEMORY.md").write_text("# Memory\n")
    url = _editor(agent)
    base = _base_hash(staff.get(url).text)
    response = staff.post(
        url,
        {"content": "**bold** <script>alert(1)</script>", "base_hash": base, "_preview": "1"},
    )
    assert "<strong>bold</strong>" in response.text
    assert "<script>alert(1)</script>" not in response.text
    assert (agent.workspace / "MEMORY.md").read_text() == "# Memory\n"


def test_revision_history_and_restore(agent: Agent, staff: Client) -> None:
    services.write_working_memory(agent, "first version\n", None, "agent")
    services.write_working_memory(agent, "second version\n", None, "agent")
    url = _editor(agent)
    page = staff.get(url)
    assert "first version" in page.text
    revision = MemoryRevision.objects.get(agent=agent, path="MEMORY.md")
    restore = reverse(
        "admin:memory_workingmemory_restore",
        args=[revision.pk and WorkingMemory.objects.get(agent=agent).pk, revision.pk],
    )
    response = staff.post(restore, {"base_hash": _base_hash(page.text)})
    assert response.status_code == 302
    assert (agent.workspace / "MEMORY.md").read_text() == "first version\n"
    # A restore from a page that is now stale is refused, not applied.
    staff.post(restore, {"base_hash": _base_hash(page.text)})
    assert (agent.workspace / "MEMORY.md").read_text() == "first version\n"
    messages = [str(m) for m in staff.get(url).context["messages"]]
    assert any("changed since your copy was read" in m for m in messages)


def test_missing_daily_log_is_shown_as_missing(agent: Agent, staff: Client) -> None:
    log = agent.workspace / "memory" / "2024-02-03.md"
    log.write_text("gone soon\n")
    services.sync_agent(agent)
    log.unlink()
    pk = DailyLog.objects.get(agent=agent).pk
    page = staff.get(reverse("admin:memory_dailylog_change", args=[pk]))
    assert "is missing on disk" in page.text
    assert "gone soon" in page.text
    assert not log.exists()
    changelist = staff.get(reverse("admin:memory_dailylog_changelist"))
    assert changelist.status_code == 200
    assert reverse("admin:memory_search") in changelist.text


def test_search_page_finds_memory_and_links_the_file(agent: Agent, staff: Client) -> None:
    services.append_daily_log(agent, "The boat needs new sails.")
    response = staff.get(reverse("admin:memory_search"), {"agent": "ada", "q": "sails"})
    assert response.status_code == 200
    log = DailyLog.objects.get(agent=agent)
    assert reverse("admin:memory_dailylog_change", args=[log.pk]) in response.text
    assert "The boat needs new sails." in response.text
    empty = staff.get(reverse("admin:memory_search"), {"agent": "ada", "q": "?!"})
    assert "no words to search for" in empty.text


def test_non_staff_cannot_edit(agent: Agent) -> None:
    url = _editor(agent)
    assert Client().get(url).status_code == 302  # to the login page
