"""An agent added in the admin gets its workspace from the templates at once, so its file tools
and bootstrap files work from its first turn."""

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _form_data(client: Client, url: str) -> dict[str, Any]:
    """The add form's own initial values, as a browser would post them back."""
    form = client.get(url).context["adminform"].form
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form.get_initial_for_field(field, name)
        if value is None or value is False:
            continue
        data[name] = form[name].field.widget.format_value(value) if value is not True else "on"
    return data


def test_an_agent_added_in_the_admin_has_its_workspace(admin_client: Client) -> None:
    url = reverse("admin:agents_agent_add")
    data = {**_form_data(admin_client, url), "slug": "helper", "name": "Helper"}
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    workspace = Path(settings.OPENCLAW_WORKSPACES) / "helper"
    assert (workspace / "AGENTS.md").is_file()
    assert (workspace / "memory").is_dir()
