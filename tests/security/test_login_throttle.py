"""Admin login throttling (django-axes): guessing a password locks that user out from that
address for the cool-off, even when the right password finally comes; another address and a
session already signed in are unaffected."""

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/"
PASSWORD = "pw-Right-one-1"


def _attempt(client: Client, password: str) -> int:
    response = client.post(
        LOGIN, {"username": "root", "password": password, "next": "/admin/"}, follow=False
    )
    return response.status_code


def test_guessing_locks_out_that_user_from_that_address() -> None:
    User.objects.create_superuser("root", "root@example.com", PASSWORD)
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    limit = settings.AXES_FAILURE_LIMIT
    assert [_attempt(attacker, f"guess-{i}") for i in range(limit - 1)] == [200] * (limit - 1)
    assert _attempt(attacker, "guess-last") == 429  # the limit-th failure locks the pair out
    assert _attempt(attacker, PASSWORD) == 429  # even the right password, during the cool-off
    assert attacker.get("/admin/").status_code == 302  # not signed in

    owner = Client(REMOTE_ADDR="198.51.100.7")
    assert _attempt(owner, PASSWORD) == 302  # another address signs in
    assert owner.get("/admin/").status_code == 200
