"""A model that refuses the check call: `doctor` and `onboard` show the provider's own words
(status and the message of its error body), then our fix; the chat's error shows them too. The
real SDK clients against the fake OpenAI and Anthropic servers."""

import asyncio
import json
from pathlib import Path

import pytest
from django.test import override_settings

from agents.models import Agent
from gateway.operator.probes import reachability_findings
from tests.conftest import GatewayFactory
from tests.fakes.anthropic_server import Error as AnthropicError
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.openai_server import Error, FakeOpenAI, Raw
from tests.gateway_process import prepare_home
from tests.operator.test_onboard import PASSWORD, onboard, scripted
from tests.wsclient import ProtocolClient

QUOTA = (
    "You exceeded your current quota, please check your plan and billing details. For more "
    "information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes."
)
REJECTED = (
    "Unsupported parameter: 'max_tokens' is not supported with this model. "
    "Use 'max_completion_tokens' instead."
)


def openai_error(status: int, message: str, code: str, param: str | None = None) -> Raw:
    """An error answer with OpenAI's exact body (type, param, code)."""
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    return Raw(json.dumps({"error": error}), status=status, content_type="application/json")


@pytest.mark.parametrize(
    ("replies", "what", "fix"),
    [
        (
            [Error(429, QUOTA, "insufficient_quota", "insufficient_quota")] * 3,
            "out of quota (HTTP 429): You exceeded your current quota, please check your plan",
            "fix: Add credit or raise the plan's limit at the provider; a second key in "
            "OPENAI_API_KEY_2",
        ),
        (
            # Refused twice: the client's own retry without the parameter is refused too.
            [openai_error(400, REJECTED, "unsupported_parameter", "max_tokens")] * 3,
            f"(HTTP 400): {REJECTED}",
            "fix: The model rejected `max_tokens`: it is a reasoning model, which takes "
            "`max_completion_tokens`",
        ),
        (
            [Error(401, "Incorrect API key provided: sk-wrong.", "invalid_request_error")],
            "refused the API key in OPENAI_API_KEY (HTTP 401): Incorrect API key provided",
            "fix: Set OPENAI_API_KEY to a valid key",
        ),
    ],
    ids=["quota", "rejected-parameter", "bad-key"],
)
def test_onboard_shows_the_providers_message_then_the_fix(
    migrated_home: Path,
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    replies: list[object],
    what: str,
    fix: str,
) -> None:
    home = prepare_home(migrated_home, tmp_path / "home")
    fake_openai.script(*replies)  # type: ignore[arg-type]
    env = {"ADMIN_PW": PASSWORD, "OPENAI_API_KEY": "sk-wrong", "OPENCLAW_MODEL_MAX_RETRIES": "0"}
    proc = onboard(home, *scripted(fake_openai, "--timeout", "10"), **env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Model check failed: " in proc.stderr
    assert what in proc.stderr, proc.stderr
    assert fix in proc.stderr, proc.stderr


@pytest.mark.django_db(transaction=True)
def test_doctor_shows_anthropics_message_then_the_fix(tmp_path: Path) -> None:
    with FakeAnthropic() as anthropic:
        url = anthropic.url
        anthropic.script(AnthropicError(529, "overloaded_error", "Overloaded"))
        with override_settings(
            ANTHROPIC_BASE_URL=url,
            OPENCLAW_PROVIDER_KEYS={"ANTHROPIC_API_KEY": "sk-ant-test"},
            OPENCLAW_WORKSPACES=tmp_path,
            OPENCLAW_CHANNEL_ENV={},
        ):
            Agent.objects.update_or_create(
                slug="main", defaults={"name": "Main", "model": "anthropic/claude-sonnet-4-5"}
            )
            findings = asyncio.run(reachability_findings(5))
    [model] = [f for f in findings if f.what.startswith("Agent main")]
    assert model.severity == "warning"
    assert f"{url} is overloaded (HTTP 529); the model is reachable: Overloaded" in (model.what)
    assert model.fix == "Wait and try again; fallback models answer meanwhile."


async def test_the_chat_error_shows_the_providers_message(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    gateway = gateway_factory(OPENCLAW_MODEL_MAX_RETRIES="0")
    fake_openai.script(Error(404, "The model `gpt-fake` does not exist.", "invalid_request_error"))
    async with gateway.connect() as ws:
        end, _ = await ProtocolClient(ws).chat("hello")
    assert end["event"] == "chat.error"
    message = end["data"]["message"]
    assert "HTTP 404: The model `gpt-fake` does not exist." in message
    assert message.index("does not exist") < message.index("check the model id")
