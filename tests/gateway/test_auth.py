"""Who may open the gateway socket, as a table over ASGI scopes."""

from types import SimpleNamespace

import pytest
from django.test import override_settings

from gateway.auth import is_authorised, origin_allowed, presented_token

TOKEN = "s3cret-token"
STAFF = SimpleNamespace(is_active=True, is_staff=True)
USER = SimpleNamespace(is_active=True, is_staff=False)


def scope(
    *, query: str = "", headers: dict[str, str] | None = None, user: object = None
) -> dict[str, object]:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return {"query_string": query.encode(), "headers": raw, "user": user}


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (scope(query=f"token={TOKEN}"), True),
        (scope(headers={"Authorization": f"Bearer {TOKEN}"}), True),
        (scope(headers={"Authorization": f"bearer {TOKEN}"}), True),
        (scope(query="token=wrong"), False),
        (scope(query="token="), False),
        (scope(), False),
        (
            scope(user=USER, headers={"Origin": "http://127.0.0.1:8000", "Host": "127.0.0.1:8000"}),
            False,
        ),
        (
            scope(
                user=STAFF, headers={"Origin": "http://127.0.0.1:8000", "Host": "127.0.0.1:8000"}
            ),
            True,
        ),
        # another app on the same host but another port shares the cookie, not the origin
        (
            scope(
                user=STAFF, headers={"Origin": "http://127.0.0.1:9999", "Host": "127.0.0.1:8000"}
            ),
            False,
        ),
        (
            scope(user=STAFF, headers={"Origin": "https://claw.example", "Host": "127.0.0.1:8000"}),
            True,
        ),
        (scope(user=STAFF, headers={"Origin": "https://evil.example"}), False),
        (scope(user=STAFF), False),  # a cookie without an Origin is not a same-origin page
        (scope(user=STAFF, headers={"Origin": "null"}), False),
        (scope(query=f"token={TOKEN}", headers={"Origin": "http://localhost:8000"}), True),
    ],
)
@override_settings(
    OPENCLAW_GATEWAY_TOKEN=TOKEN,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    CSRF_TRUSTED_ORIGINS=["https://claw.example"],
)
def test_authorisation_table(case: dict[str, object], expected: bool) -> None:
    assert is_authorised(case) is expected


@override_settings(OPENCLAW_GATEWAY_TOKEN="")
def test_an_empty_configured_token_authorises_nobody() -> None:
    assert is_authorised(scope(query="token=")) is False


@override_settings(ALLOWED_HOSTS=["127.0.0.1"], CSRF_TRUSTED_ORIGINS=[])
def test_origin_rules() -> None:
    same = {"Origin": "http://127.0.0.1:9", "Host": "127.0.0.1:9"}
    assert origin_allowed(scope()) is None
    assert origin_allowed(scope(headers=same)) is True
    assert (
        origin_allowed(scope(headers={**same, "Origin": "http://127.0.0.1.evil.example"})) is False
    )
    assert (
        origin_allowed(scope(headers={"Origin": "http://evil.example", "Host": "evil.example"}))
        is False
    )


def test_header_token_wins_over_query() -> None:
    both = scope(query="token=a", headers={"Authorization": "Bearer b"})
    assert presented_token(both) == "b"
