"""Shared fixtures: the fake model server, a migrated state directory, real gateways."""

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from channels.testing import WebsocketCommunicator
from django.test import override_settings
from pytest_django import DjangoDbBlocker

from tests.fakes.openai_server import FakeOpenAI
from tests.gateway_process import Gateway, base_env, free_port, migrate, prepare_home
from tests.wsclient import CommunicatorSocket, ProtocolClient


@pytest.fixture(scope="session", autouse=True)
def _thread_connections_closed(
    django_db_setup: None, django_db_blocker: DjangoDbBlocker
) -> Iterator[None]:
    """Database calls of async tests run in worker threads (asgiref's sync thread, mostly) whose
    connections are kept (CONN_MAX_AGE=None, as in production): closed before the test
    databases are dropped, which PostgreSQL refuses while a connection is open."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connection, connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
    if connection.vendor == "postgresql":  # and those of other threads and processes
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
    connections.close_all()


@pytest.fixture(autouse=True)
def _failover_memory_forgotten() -> Iterator[None]:
    """Models and keys that failed cool down in process memory (agents.failover): forgotten
    after each test, so one test's dead model is not skipped in the next."""
    yield
    from agents import failover

    failover.models_cooling.clear()
    failover.keys_cooling.clear()


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="session")
def migrated_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state directory with a migrated SQLite database, copied for each gateway."""
    home = tmp_path_factory.mktemp("template-home")
    migrate(home)
    return home


@pytest.fixture
def gateway_factory(
    migrated_home: Path, tmp_path: Path, fake_openai: FakeOpenAI
) -> Iterator["GatewayFactory"]:
    factory = GatewayFactory(migrated_home, tmp_path, fake_openai)
    yield factory
    factory.close()


class GatewayFactory:
    def __init__(self, template: Path, tmp: Path, fake: FakeOpenAI) -> None:
        self.template, self.tmp, self.fake = template, tmp, fake
        self.gateways: list[Gateway] = []
        self.home = prepare_home(template, tmp / "home")

    def __call__(self, *, start: bool = True, **env: str) -> Gateway:
        settings = {
            "OPENAI_BASE_URL": self.fake.base_url,
            "OPENAI_API_KEY": "sk-test",
            "OPENCLAW_MODEL": "gpt-fake",
            **env,
        }
        gateway = Gateway(
            home=self.home,
            port=free_port(),
            env=base_env(self.home, **settings),
            log=self.home / f"gateway-{len(self.gateways)}.log",
        )
        self.gateways.append(gateway)
        return gateway.start() if start else gateway

    def close(self) -> None:
        for gateway in self.gateways:
            gateway.kill()


@pytest.fixture
async def client(
    running_runtime: None, fake_openai: FakeOpenAI, tmp_path: Path
) -> AsyncIterator[ProtocolClient]:
    """A gateway socket in-process (real consumer, lanes and loop) against the fake model,
    with a state directory of its own."""
    from channels.db import database_sync_to_async

    from agents.services import ensure_default_agent
    from openclaw.asgi import build_application

    with override_settings(
        OPENCLAW_HOME=tmp_path,
        OPENCLAW_WORKSPACES=tmp_path / "workspaces",
        OPENAI_BASE_URL=fake_openai.base_url,
        OPENCLAW_MODEL="gpt-fake",
        OPENCLAW_MAX_MESSAGE_CHARS=50,
        OPENCLAW_MAX_FRAME_BYTES=2000,
        OPENCLAW_MODEL_MAX_RETRIES=0,
    ):
        await database_sync_to_async(ensure_default_agent)()
        communicator = WebsocketCommunicator(
            build_application(), "/ws/gateway/?token=test-gateway-token"
        )
        connected, _ = await communicator.connect()
        assert connected
        yield ProtocolClient(CommunicatorSocket(communicator))
        await communicator.disconnect()


@pytest.fixture
async def running_runtime() -> AsyncIterator[None]:
    """The gateway runtime started on the test's event loop (for in-process consumer tests)."""
    from gateway import lifecycle

    await lifecycle.start(background=False)
    try:
        yield
    finally:
        await lifecycle.stop()


def pytest_report_header() -> str:
    return f"database: {os.environ.get('DATABASE_URL', 'sqlite (default)')}; " + (
        f"redis: {os.environ['REDIS_URL']}" if os.environ.get("REDIS_URL") else "layer: in-memory"
    )


def _reachable(host: str, port: int) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def pytest_sessionstart(session: pytest.Session) -> None:
    """Fail at once, naming the service, when a configured PostgreSQL or Redis is down."""
    from urllib.parse import urlsplit

    for variable, name, default_port in (
        ("DATABASE_URL", "PostgreSQL", 5432),
        ("REDIS_URL", "Redis", 6379),
    ):
        url = os.environ.get(variable, "")
        if not url or url.startswith("sqlite"):
            continue
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or default_port
        if not _reachable(host, port):
            raise pytest.UsageError(
                f"{name} is not reachable at {host}:{port} ({variable}={url}); start it "
                f"(see README, 'Tests') or unset {variable}."
            )
