"""Search boxes in the admin find what an operator remembers about a record."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from agents.services import ensure_default_agent
from memory.models import CurationRun

pytestmark = pytest.mark.django_db


def test_curation_runs_are_found_by_agent_summary_or_error(admin_client: Client) -> None:
    agent = ensure_default_agent()
    CurationRun.objects.create(
        agent=agent, day=dt.date(2026, 3, 14), summary="- Booked the dentist."
    )
    CurationRun.objects.create(
        agent=agent,
        day=dt.date(2026, 3, 15),
        status=CurationRun.Status.FAILED,
        error="Model timed out after 60 s",
    )
    changelist = reverse("admin:memory_curationrun_changelist")
    for query, day in (("dentist", "2026-03-14"), ("timed out", "2026-03-15")):
        page = admin_client.get(changelist, {"q": query}).text
        assert "1 curation run" in page and day in page, query
    assert "2 curation runs" in admin_client.get(changelist, {"q": agent.slug}).text
