"""Curation runs in the admin: the diff rendered readably and escaped, Apply / Reject over POST
with CSRF, conflicts shown, bulk actions, every decision audited."""

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from agents.models import Agent
from memory import curation, services
from memory.models import CurationRun
from openclaw.audit.models import AuditEvent

pytestmark = [pytest.mark.services, pytest.mark.django_db]

MEMORY = "# Memory\n\n- Likes tea.\n- Old fact.\n"
PROPOSED = "# Memory\n\n- Likes tea.\n- Wrote <script>alert(1)</script> in chat.\n"


@pytest.fixture
def staff() -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def _run(agent: Agent, day: dt.date = dt.date(2026, 3, 14)) -> CurationRun:
    (agent.workspace / "MEMORY.md").write_text(MEMORY)
    current = services.read_working_memory(agent)
    return CurationRun.objects.create(
        agent=agent,
        day=day,
        summary="- A quiet day.",
        proposed_text=PROPOSED,
        base_hash=current.content_hash,
        diff=curation.unified_diff(current.content, PROPOSED),
    )


def _post(client: Client, url: str, page_url: str, data: dict[str, Any] | None = None) -> Any:
    """POST like a browser does: with the CSRF token from the page just shown."""
    page = client.get(page_url)
    assert page.status_code == 200
    token = client.cookies["csrftoken"].value
    return client.post(url, {**(data or {}), "csrfmiddlewaretoken": token}, follow=True)


def test_detail_shows_the_diff_coloured_and_escaped(agent: Agent, staff: Client) -> None:
    run = _run(agent)
    page = staff.get(reverse("admin:memory_curationrun_change", args=[run.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert '<span class="diff-del">-- Old fact.</span>' in html
    assert "diff-add" in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert "Apply to MEMORY.md" in html and "Reject" in html


def test_apply_button_writes_memory_and_audits(agent: Agent, staff: Client) -> None:
    run = _run(agent)
    detail = reverse("admin:memory_curationrun_change", args=[run.pk])
    url = reverse("admin:memory_curationrun_apply", args=[run.pk])
    assert staff.post(url).status_code == 403  # no CSRF token: refused
    response = _post(staff, url, detail)
    assert "Applied to MEMORY.md" in response.content.decode()
    run.refresh_from_db()
    assert run.status == CurationRun.Status.APPLIED and run.decided_by == "user:root"
    assert (agent.workspace / "MEMORY.md").read_text() == PROPOSED
    assert AuditEvent.objects.get(action="curation.applied").actor == "user:root"


def test_apply_after_an_edit_shows_the_conflict_and_stays_pending(
    agent: Agent, staff: Client
) -> None:
    run = _run(agent)
    (agent.workspace / "MEMORY.md").write_text(MEMORY + "- Added by hand.\n")
    detail = reverse("admin:memory_curationrun_change", args=[run.pk])
    assert "Conflict: MEMORY.md has changed" in staff.get(detail).content.decode()
    response = _post(staff, reverse("admin:memory_curationrun_apply", args=[run.pk]), detail)
    html = response.content.decode()
    assert "Not applied" in html and "changed since your copy was read" in html
    run.refresh_from_db()
    assert run.status == CurationRun.Status.PENDING
    assert (agent.workspace / "MEMORY.md").read_text() == MEMORY + "- Added by hand.\n"
    assert not AuditEvent.objects.filter(action="curation.applied").exists()


def test_reject_button_leaves_memory_alone(agent: Agent, staff: Client) -> None:
    run = _run(agent)
    detail = reverse("admin:memory_curationrun_change", args=[run.pk])
    _post(staff, reverse("admin:memory_curationrun_reject", args=[run.pk]), detail)
    run.refresh_from_db()
    assert run.status == CurationRun.Status.REJECTED
    assert (agent.workspace / "MEMORY.md").read_text() == MEMORY
    assert AuditEvent.objects.get(action="curation.rejected").actor == "user:root"
    assert "Apply to MEMORY.md" not in staff.get(detail).content.decode()


def test_bulk_reject_and_list_filters(agent: Agent, staff: Client) -> None:
    first, second = _run(agent), _run(agent, dt.date(2026, 3, 15))
    changelist = reverse("admin:memory_curationrun_changelist")
    listing = staff.get(changelist, {"status__exact": "pending", "agent__id__exact": str(agent.pk)})
    assert listing.status_code == 200 and "2026-03-15" in listing.content.decode()
    _post(
        staff,
        changelist,
        changelist,
        {"action": "reject_selected", "_selected_action": [first.pk, second.pk]},
    )
    assert set(CurationRun.objects.values_list("status", flat=True)) == {"rejected"}
    assert AuditEvent.objects.filter(action="curation.rejected").count() == 2
