"""`openclaw.perf.rows`, the per-turn SQL: the same instances and rows as the ORM's, on SQLite and
PostgreSQL (the services run), with every field type a turn reads or writes."""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Model

from agents import services
from agents.models import Agent, ModelPrice, Session
from gateway.models import InboundRecord
from memory.models import DailyLog
from openclaw.perf import rows

pytestmark = [pytest.mark.django_db, pytest.mark.services]


def _fields(instance: Model) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_first_where_returns_the_orms_instance() -> None:
    agent = services.ensure_default_agent()
    Agent.objects.filter(pk=agent.pk).update(
        fallback_models=["b", {"model": "c"}], tools_deny=["exec"], temperature=0.25
    )
    ref, _ = services.open_session("agent:main:rows")
    Session.objects.filter(pk=ref.pk).update(cost=Decimal("0.001234"), token_ratio=1.5)
    for model, equals in (
        (Session, {"key": "agent:main:rows", "status": "active"}),
        (Agent, {"id": agent.pk}),
        (Agent, {"slug": "main"}),
    ):
        found = rows.first_where(model, equals)
        assert found is not None
        orm = model._default_manager.get(**equals)
        assert _fields(found) == _fields(orm)
        assert type(found) is model and not found._state.adding
    session = rows.first_where(Session, {"key": "agent:main:rows", "status": "active"})
    assert session is not None
    assert isinstance(session.session_id, uuid.UUID) and session.cost == Decimal("0.001234")
    assert session.created_at.tzinfo is not None


def test_first_where_prepares_values_and_finds_nothing_as_none() -> None:
    agent = services.ensure_default_agent()
    log = DailyLog.objects.create(agent=agent, date=dt.date(2026, 3, 1), content="x")
    by_related = rows.first_where(DailyLog, {"agent": agent.pk, "date": dt.date(2026, 3, 1)})
    by_attname = rows.first_where(DailyLog, {"agent_id": agent.pk, "date": dt.date(2026, 3, 1)})
    assert by_related is not None and by_attname is not None
    assert by_related.pk == by_attname.pk == log.pk
    assert rows.first_where(DailyLog, {"agent": agent.pk, "date": dt.date(2026, 3, 2)}) is None
    assert rows.first_where(ModelPrice, {"model": "nothing-priced"}) is None
    assert rows.first_where(Agent, {"slug": "it's; DROP TABLE x"}) is None  # a parameter
    with pytest.raises(TypeError, match="not a column"):
        rows.first_where(Agent, {"sessions": 1})


def test_only_reads_those_fields_and_defers_the_rest_as_the_orm_does() -> None:
    services.ensure_default_agent()
    ref, _ = services.open_session("agent:main:only")
    Session.objects.filter(pk=ref.pk).update(cost=Decimal("0.5"), title="kept")
    found = rows.first_where(Session, {"key": "agent:main:only"}, only=("key", "agent"))
    assert found is not None
    orm = Session.objects.only("key", "agent").get(key="agent:main:only")
    assert found.get_deferred_fields() == orm.get_deferred_fields()
    assert (found.pk, found.key, found.agent_id) == (orm.pk, orm.key, orm.agent_id)
    assert found.title == "kept" and found.cost == Decimal("0.5")  # loaded on access, as the ORM


def test_first_where_with_reads_a_row_and_its_related_row_in_one_statement(
    django_assert_num_queries: Any,
) -> None:
    agent = services.ensure_default_agent()
    Agent.objects.filter(pk=agent.pk).update(fallback_models=["b"], tools_deny=["exec"])
    ref, _ = services.open_session("agent:main:joined")
    with django_assert_num_queries(1):
        found = rows.first_where_with(Session, {"key": "agent:main:joined"}, "agent")
    assert found is not None
    session, owner = found
    assert _fields(session) == _fields(Session.objects.get(pk=ref.pk))
    assert _fields(owner) == _fields(Agent.objects.get(pk=agent.pk))
    assert rows.first_where_with(Session, {"key": "agent:main:none"}, "agent") is None
    with pytest.raises(TypeError, match="foreign key"):
        rows.first_where_with(Session, {"key": "x"}, "channel")


def test_opening_a_known_session_is_one_statement(django_assert_num_queries: Any) -> None:
    services.ensure_default_agent()
    first, created = services.open_session("agent:main:known")
    assert created
    with django_assert_num_queries(1):  # no deferred field read back either
        again, created = services.open_session("agent:main:known")
    assert again == first and not created


def test_insert_fills_defaults_and_returns_the_key() -> None:
    before = dt.datetime.now(dt.UTC)
    pk = rows.insert(
        InboundRecord,
        {"channel": "web", "account_id": "main", "message_id": "m1", "chat_id": "c"},
    )
    record = InboundRecord.objects.get(pk=pk)
    assert (record.channel, record.message_id, record.sender_id) == ("web", "m1", "")
    assert record.status == InboundRecord.Status.ACCEPTED and record.delivered_chunks == 0
    assert before <= record.received_at <= dt.datetime.now(dt.UTC)
    second = rows.insert(
        InboundRecord,
        {"channel": "web", "account_id": "main", "message_id": "m2", "chat_id": "c"},
    )
    assert second > pk


@pytest.mark.django_db(transaction=True)  # autocommit outside the `atomic` block, as the gateway
def test_a_refused_insert_leaves_the_surrounding_transaction_usable() -> None:
    values = {"channel": "web", "account_id": "main", "message_id": "dup", "chat_id": "c"}
    rows.insert(InboundRecord, values)
    with pytest.raises(IntegrityError):
        rows.insert(InboundRecord, values)
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            rows.insert(InboundRecord, values)
        # On PostgreSQL this query fails if the refused insert broke the transaction.
        assert InboundRecord.objects.filter(message_id="dup").count() == 1
