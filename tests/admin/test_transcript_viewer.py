"""The session transcript viewer: a conversation with safe Markdown, folded tools, usage per
turn, flags for cut-short answers, pages of turns, and only for staff who may view sessions."""

import gzip
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.test import Client, RequestFactory
from django.urls import reverse

from agents.models import ModelPrice, Session
from agents.transcripts import make_entry
from tests.admin.conftest import SessionFactory, final, tool_round

pytestmark = pytest.mark.django_db


def _url(session: Session, page: str = "") -> str:
    url = reverse("admin:agents_session_transcript", args=[session.pk])
    return f"{url}?page={page}" if page else url


def test_messages_render_as_markdown_and_html_in_them_is_escaped(
    admin_client: Client, session_with: SessionFactory
) -> None:
    session = session_with(
        [
            make_entry("message", role="user", content="**bold** <script>alert(1)</script>"),
            final("r1", "See [this](javascript:alert(2)) and `code` <img src=x onerror=alert(3)>"),
        ]
    )
    page = admin_client.get(_url(session))
    assert page.status_code == 200
    html = page.text
    assert "<strong>bold</strong>" in html
    assert "<code>code</code>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    assert 'href="javascript:' not in html


def test_tool_calls_are_folded_with_their_results_and_usage_is_shown_per_turn(
    admin_client: Client, session_with: SessionFactory
) -> None:
    ModelPrice.objects.create(model="gpt-priced", input_per_mtok=1, output_per_mtok=4)
    session = session_with(
        [
            make_entry("message", role="user", content="what is in notes.txt?", run="r1"),
            *tool_round("r1", "call_1", "read_file", '{"path": "notes.txt"}', "<b>tea</b> list"),
            final("r1", "It lists tea.", prompt=1500, completion=30, cached=1000),
        ]
    )
    Session.objects.filter(pk=session.pk).update(model_override="gpt-priced")
    html = admin_client.get(_url(session)).text
    tool = re.search(
        r"<details>\s*<summary><span class=\"who\">Tool read_file</span>(.*?)</details>", html, re.S
    )
    assert tool, html
    assert '"path": "notes.txt"' in tool.group(1).replace("&quot;", '"')
    assert "&lt;b&gt;tea&lt;/b&gt; list" in tool.group(1)
    turn = re.search(r'<section class="turn" id="turn-1">\s*<h2>(.*?)</h2>', html, re.S)
    assert turn
    usage = " ".join(turn.group(1).split())
    assert "in 1,500 (cached 1,000), out 30" in usage
    # 500 fresh input at 1/M + 1000 cached at 0/M + 30 output at 4/M
    assert "0.000620 at gpt-priced prices" in usage


def test_errors_aborts_compaction_and_torn_lines_are_marked(
    admin_client: Client, session_with: SessionFactory
) -> None:
    session = session_with(
        [
            make_entry("context", content="Notes from yesterday"),
            make_entry("message", role="user", content="first", run="r1"),
            make_entry(
                "message", role="assistant", content="half an ans", run="r1", stop_reason="partial"
            ),
            make_entry("error", content="The model timed out.", run="r1", meta={"code": "timeout"}),
            make_entry("compaction", content="Earlier: greetings", meta={"summarised_messages": 4}),
            make_entry("message", role="user", content="second", run="r2"),
            make_entry(
                "message", role="assistant", content="stopp", run="r2", stop_reason="aborted"
            ),
        ]
    )
    with open(session.transcript_file, "a", encoding="utf-8") as handle:
        handle.write('{"type":"message","role":"assis')  # torn by a crash
    html = admin_client.get(_url(session)).text
    assert "Session start context" in html
    assert "partial: the run failed mid-answer" in html
    assert (
        'class="item item-error"' in html and "timeout" in html and "The model timed out." in html
    )
    assert "4 earlier messages summarised" in html
    assert ">aborted<" in html
    assert "1 unreadable line skipped" in html and "line 8" in html.replace("\n", " ")
    assert 'id="turn-2"' in html


def test_a_session_without_a_transcript_file_says_so(
    admin_client: Client, session_with: SessionFactory
) -> None:
    session = session_with([])
    page = admin_client.get(_url(session))
    assert page.status_code == 200
    assert "No transcript file yet" in page.text


def test_long_transcripts_are_paginated_by_turns(
    admin_client: Client, session_with: SessionFactory
) -> None:
    entries = []
    for n in range(1, 46):
        entries += [
            make_entry("message", role="user", content=f"question {n}", run=f"r{n}"),
            final(f"r{n}", f"answer {n}"),
        ]
    session = session_with(entries)
    first = admin_client.get(_url(session)).text
    assert "question 1<" in first and "question 20<" in first and "question 21<" not in first
    assert "Turns 1\u201320 of 45" in first
    last = admin_client.get(_url(session, "last")).text
    assert "question 45<" in last and "question 41<" in last and "question 40<" not in last
    assert 'id="turn-41"' in last
    beyond = admin_client.get(_url(session, "99")).text  # out of range: the last page
    assert "question 45<" in beyond


def test_ten_thousand_entries_render_one_page(
    admin_client: Client, session_with: SessionFactory
) -> None:
    entries = []
    for n in range(5000):
        entries += [make_entry("message", role="user", content=f"q{n}"), final(f"r{n}", f"a{n}")]
    session = session_with(entries)
    html = admin_client.get(_url(session, "last")).text
    assert html.count('<section class="turn"') == 20
    assert "10000 entries" in html


def test_the_session_admin_links_to_the_transcript(
    admin_client: Client, session_with: SessionFactory
) -> None:
    session = session_with([make_entry("message", role="user", content="hi")])
    listing = admin_client.get(reverse("admin:agents_session_changelist")).text
    assert f"{_url(session)}?page=last" in listing
    change = admin_client.get(reverse("admin:agents_session_change", args=[session.pk])).text
    assert f"{_url(session)}?page=last" in change


def test_non_staff_and_staff_without_view_permission_are_refused(
    session_with: SessionFactory,
) -> None:
    client = Client()
    session = session_with([make_entry("message", role="user", content="private words")])
    User.objects.create_user("visitor", password="pw")
    client.login(request=RequestFactory().post("/admin/login/"), username="visitor", password="pw")
    response = client.get(_url(session))
    assert response.status_code == 302 and "/login/" in response["Location"]
    staff = User.objects.create_user("helper", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.get(_url(session)).status_code == 403
    staff.user_permissions.add(
        Permission.objects.get(codename="view_session", content_type__app_label="agents")
    )
    staff = User.objects.get(pk=staff.pk)  # permissions are cached on the instance
    client.force_login(staff)
    page = client.get(_url(session))
    assert page.status_code == 200 and "private words" in page.text


def test_an_archived_gzip_transcript_is_read_and_a_damaged_one_is_reported(
    admin_client: Client, session_with: SessionFactory
) -> None:
    session = session_with([])
    relative = f"archive/sessions/main/{session.session_id.hex}.jsonl.gz"
    Session.objects.filter(pk=session.pk).update(transcript_path=relative)
    archived = Path(settings.OPENCLAW_HOME) / relative
    archived.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(make_entry("message", role="user", content="from the archive"))
    archived.write_bytes(gzip.compress(line.encode() + b"\n"))
    page = admin_client.get(_url(session))
    assert page.status_code == 200 and "from the archive" in page.text
    archived.write_bytes(b"not gzip at all")
    page = admin_client.get(_url(session))
    assert page.status_code == 200
    assert "The transcript file cannot be read" in page.text


def test_sessions_are_not_added_by_hand_in_the_admin(admin_client: Client) -> None:
    """A session starts when someone writes (or with /new); an empty row made in the admin
    would have no transcript."""
    assert admin_client.get(reverse("admin:agents_session_add")).status_code == 403
    changelist = admin_client.get(reverse("admin:agents_session_changelist")).text
    assert reverse("admin:agents_session_add") not in changelist
