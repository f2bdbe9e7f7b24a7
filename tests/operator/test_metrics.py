"""`GET /metrics` on a real gateway process: token-protected Prometheus text that counts turns,
latency, tokens and errors, and shows live sockets, lanes and the inbound journal."""

import time
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import Error, FakeOpenAI, Text, Usage
from tests.gateway_process import TOKEN, Gateway
from tests.wsclient import ProtocolClient

pytestmark = pytest.mark.e2e


def scrape(gateway: Gateway, authorization: str | None) -> tuple[int, str, str]:
    request = urllib.request.Request(gateway.url + "/metrics")
    if authorization is not None:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read().decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_refuse_requests_without_the_gateway_token(
    gateway_factory: GatewayFactory,
) -> None:
    gateway = gateway_factory()
    for authorization in (None, "Bearer wrong-token", f"Basic {TOKEN}", TOKEN):
        status, _, body = scrape(gateway, authorization)
        assert status == 401, authorization
        assert "openclaw_" not in body
    # A token in the URL is not accepted either: proxies write URLs to their logs.
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{gateway.url}/metrics?token={TOKEN}", timeout=5)
    assert refused.value.code == 401


async def test_metrics_count_turns_tokens_latency_errors_and_sockets(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    gateway = gateway_factory()
    status, content_type, before = scrape(gateway, f"Bearer {TOKEN}")
    assert status == 200 and content_type.startswith("text/plain")
    assert value(before, "openclaw_runtime_running") == 1
    assert value(before, "openclaw_websocket_connections") == 0

    fake_openai.script(
        Text(
            "Hello there.", usage=Usage(prompt_tokens=120, completion_tokens=7, cached_tokens=100)
        ),
        Error(401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key"),
    )
    async with gateway.connect() as ws:
        client = ProtocolClient(ws)
        first, _ = await client.chat("hi")
        second, _ = await client.chat("again")
        _, _, during = scrape(gateway, f"bearer {TOKEN}")
    assert first["event"] == "chat.final" and second["event"] == "chat.error"
    assert value(during, "openclaw_websocket_connections") == 1
    assert value(during, "openclaw_turns_total", channel="web", outcome="stop") == 1
    assert value(during, "openclaw_turns_total", channel="web", outcome="error") == 1
    assert value(during, "openclaw_errors_total", kind="model_auth") == 1
    assert value(during, "openclaw_tokens_total", model="gpt-fake", kind="input") == 120
    assert value(during, "openclaw_tokens_total", model="gpt-fake", kind="output") == 7
    assert value(during, "openclaw_tokens_total", model="gpt-fake", kind="cached") == 100
    assert value(during, "openclaw_turn_first_token_seconds_count", channel="web") == 1
    assert value(during, "openclaw_turn_seconds_count", channel="web") == 2
    assert value(during, "openclaw_lane_runs_busy") == 0
    assert value(during, "openclaw_inbound_journal_pending") == 0

    _, _, after = scrape(gateway, f"Bearer {TOKEN}")
    assert value(after, "openclaw_websocket_connections") == 0


@pytest.mark.django_db(transaction=True)
def test_a_staff_session_may_read_metrics_and_a_plain_user_may_not() -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    users = get_user_model()
    staff = users.objects.create_user("ops", password="x", is_staff=True)
    plain = users.objects.create_user("visitor", password="x")
    client = Client()
    client.force_login(plain)
    assert client.get("/metrics").status_code == 401
    client.force_login(staff)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "openclaw_inbound_journal_pending 0.0" in response.content.decode()


def test_metrics_show_each_channel_account_connection_state(
    gateway_factory: GatewayFactory,
) -> None:
    from tests.fakes.telegram_server import FakeTelegram

    with FakeTelegram() as telegram:
        gateway = gateway_factory(
            TELEGRAM_BOT_TOKEN=telegram.token,
            TELEGRAM_API_URL=telegram.url,
            TELEGRAM_POLL_TIMEOUT="1",
        )
        state = 0.0
        for _ in range(100):
            _, _, text = scrape(gateway, f"Bearer {TOKEN}")
            labels = {"channel": "telegram", "account": "default", "state": "connected"}
            state = value(text, "openclaw_channel_connection_state", **labels)
            if state == 1:
                break
            time.sleep(0.1)
        assert state == 1, text
        gateway.kill()
