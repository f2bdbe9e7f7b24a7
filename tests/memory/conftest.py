"""Memory fixtures: an agent whose workspace lives in this test's tmp dir, and the fixed search
corpus on disk."""

from pathlib import Path

import pytest
from django.conf import LazySettings

from agents.models import Agent
from memory import services
from tests.memory.corpus import LOGS, MEMORY


@pytest.fixture
def workspaces(settings: LazySettings, tmp_path: Path) -> Path:
    settings.OPENCLAW_WORKSPACES = tmp_path / "workspaces"
    settings.OPENCLAW_EMBEDDINGS_MODEL = ""
    settings.OPENCLAW_MEMORY_RECENCY_HALF_LIFE_DAYS = 0.0
    return tmp_path / "workspaces"


@pytest.fixture
def agent(workspaces: Path) -> Agent:
    """Agent "ada" with an empty workspace (needs a django_db mark on the test)."""
    ada = Agent.objects.create(slug="ada", name="Ada")
    (ada.workspace / "memory").mkdir(parents=True)
    return ada


@pytest.fixture
def corpus(agent: Agent) -> Agent:
    """The agent with the fixed search corpus (tests/memory/corpus.py) on disk and synced."""
    (agent.workspace / "MEMORY.md").write_text(MEMORY)
    for day, text in LOGS.items():
        (agent.workspace / "memory" / f"{day}.md").write_text(text)
    services.sync_agent(agent)
    return agent
