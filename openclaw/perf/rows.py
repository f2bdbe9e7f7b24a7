"""A turn's statements as plain SQL: 46 to 95 % less CPU a call than the ORM's (session 7).

Compiling the ORM's version of these statements cost more CPU than running them, on the one
thread all database calls of the gateway share. Only statements of a turn belong here, each
measured against its ORM call by `bench/tools/rows_vs_orm.py`. Every turn: the session read of
`agents.services.open_session` (`first_where_with`), the model price and the usage counters of
`agents.usage` (`first_where`, `table`), the journal entry and its close in `gateway.journal`
(`insert`, `table`). A new session's first turn: its agent (`agents.services.get_agent`), and
the agent and two daily logs `memory.services.session_start_context` reads (`memory.sync`).
Names come from the models, every value is a parameter.

`first_where` and `insert` build their statement and the fields' converters once per model,
columns and connection, then only execute: rows come back as the ORM's own instances
(`Model.from_db`, with each field's converters applied) and inserted values go through each
field's `get_db_prep_save`, as the ORM's would. Neither sends model signals. The compiler's
`get_converters` is Django's internal API (pinned in `pyproject.toml`, checked by
`tests/perf/test_upstream_django.py`)."""

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from django.db import connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Expression, Field, Model
from django.db.models.sql import Query
from django.utils import timezone

# Converter as the ORM's compiler applies it: `converter(value, expression, connection)`.
_Converter = tuple[int, list[Callable[..., Any]], Any]


def table(model: type[Model]) -> str:
    """The model's table name, quoted for the current backend."""
    return str(connection.ops.quote_name(model._meta.db_table))


@dataclass(frozen=True, slots=True)
class _Select:
    sql: str
    where: list[Field[Any, Any]]
    attnames: list[str]
    converters: list[_Converter]


@dataclass(frozen=True, slots=True)
class _Insert:
    sql: str
    fields: list[Field[Any, Any]]
    pk: str
    returning: bool


# Plans per connection (each thread has its own): converters are bound to its operations.
_plans: WeakKeyDictionary[BaseDatabaseWrapper, dict[tuple[Any, ...], Any]] = WeakKeyDictionary()


def _cached[P](db: BaseDatabaseWrapper, key: tuple[Any, ...], build: Callable[[], P]) -> P:
    plans = _plans.get(db)
    if plans is None:
        plans = _plans[db] = {}
    plan: P | None = plans.get(key)
    if plan is None:
        plan = plans[key] = build()
    return plan


def _column_field(model: type[Model], name: str) -> Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or field.column is None:
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field


def _columns(model: type[Model], only: Sequence[str] | None) -> list[Field[Any, Any]]:
    """The concrete fields to read: all, or those named in `only` (the primary key always)."""
    fields = list(model._meta.concrete_fields)
    if only is None:
        return fields
    wanted = {model._meta.get_field(name).name for name in only} | {model._meta.pk.name}
    return [f for f in fields if f.name in wanted]


def _select_plan(
    db: BaseDatabaseWrapper, model: type[Model], where: Sequence[str], only: Sequence[str] | None
) -> _Select:
    meta = model._meta
    fields = _columns(model, only)
    quote = db.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    where_fields = [_column_field(model, name) for name in where]
    condition = " AND ".join(f"{quote(f.column)} = %s" for f in where_fields)
    compiler = db.ops.compiler("SQLCompiler")(Query(model), db, db.alias)
    converters = compiler.get_converters([f.get_col(meta.db_table) for f in fields])
    return _Select(
        # Names from the model, values are parameters.
        sql=f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {condition} LIMIT 1",  # noqa: S608
        where=where_fields,
        attnames=[f.attname for f in fields],
        converters=[(pos, convs, expr) for pos, (convs, expr) in converters.items()],
    )


def first_where[M: Model](
    model: type[M], equals: dict[str, Any], *, only: Sequence[str] | None = None
) -> M | None:
    """The first row whose fields equal `equals` (field names or attribute names: `agent` or
    `agent_id` take the related row's key), as the ORM's own instance, or None. With `only`,
    just those fields are read, the others deferred as by `QuerySet.only` (on the per-turn path
    every column read counts)."""
    db = connections[model._default_manager.db]
    columns = None if only is None else tuple(only)
    plan = _cached(
        db,
        ("select", model, columns, *equals),
        lambda: _select_plan(db, model, list(equals), columns),
    )
    values = _first_row(db, plan, equals)
    return None if values is None else model.from_db(db.alias, plan.attnames, values)


def _first_row(
    db: BaseDatabaseWrapper, plan: "_Select | _Joined", equals: dict[str, Any]
) -> list[Any] | None:
    """The plan's first row for `equals` (values prepared by their fields), its columns as the
    ORM's compiler would hand them to `from_db`; None when there is none."""
    params = [f.get_db_prep_value(v, db) for f, v in zip(plan.where, equals.values(), strict=True)]
    with db.cursor() as cursor:
        cursor.execute(plan.sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for pos, convs, expression in plan.converters:
        value = values[pos]
        for convert in convs:
            value = convert(value, expression, db)
        values[pos] = value
    return values


@dataclass(frozen=True, slots=True)
class _Joined:
    sql: str
    target: type[Model]
    where: list[Field[Any, Any]]
    attnames: tuple[list[str], list[str]]
    converters: list[_Converter]


def _joined_plan(
    db: BaseDatabaseWrapper,
    model: type[Model],
    where: Sequence[str],
    related: str,
    only: tuple[Sequence[str] | None, Sequence[str] | None],
) -> _Joined:
    meta = model._meta
    key = _column_field(model, related)
    target = key.related_model
    if not isinstance(target, type) or not issubclass(target, Model) or target._meta.pk is None:
        raise TypeError(f"{model.__name__}.{related} is not a foreign key")
    other = target._meta
    quote = db.ops.quote_name
    fields, others = _columns(model, only[0]), _columns(target, only[1])
    columns = [f"m.{quote(f.column)}" for f in fields] + [f"r.{quote(f.column)}" for f in others]
    where_fields = [_column_field(model, name) for name in where]
    condition = " AND ".join(f"m.{quote(f.column)} = %s" for f in where_fields)
    compiler = db.ops.compiler("SQLCompiler")(Query(model), db, db.alias)
    expressions: list[Expression] = [f.get_col("m") for f in fields]
    expressions += [f.get_col("r") for f in others]
    converters = compiler.get_converters(expressions)
    return _Joined(
        # Names from the models, values are parameters.
        sql=f"SELECT {', '.join(columns)} FROM {quote(meta.db_table)} m "  # noqa: S608
        f"JOIN {quote(other.db_table)} r ON r.{quote(other.pk.column)} = m.{quote(key.column)} "
        f"WHERE {condition} LIMIT 1",
        target=target,
        where=where_fields,
        attnames=([f.attname for f in fields], [f.attname for f in others]),
        converters=[(pos, convs, expr) for pos, (convs, expr) in converters.items()],
    )


def first_where_with[M: Model](
    model: type[M],
    equals: dict[str, Any],
    related: str,
    *,
    only: Sequence[str] | None = None,
    related_only: Sequence[str] | None = None,
) -> tuple[M, Model] | None:
    """`first_where`, with the row its foreign key `related` points to (`related_only`: its
    fields to read), in one statement; None when either is missing."""
    db = connections[model._default_manager.db]
    columns = (
        None if only is None else tuple(only),
        None if related_only is None else tuple(related_only),
    )
    plan = _cached(
        db,
        ("joined", model, related, columns, *equals),
        lambda: _joined_plan(db, model, list(equals), related, columns),
    )
    values = _first_row(db, plan, equals)
    if values is None:
        return None
    own, theirs = plan.attnames
    return (
        model.from_db(db.alias, own, values[: len(own)]),
        plan.target.from_db(db.alias, theirs, values[len(own) :]),
    )


def _insert_plan(db: BaseDatabaseWrapper, model: type[Model]) -> _Insert:
    meta = model._meta
    fields = [f for f in meta.concrete_fields if f is not meta.auto_field]
    quote = db.ops.quote_name
    pk = meta.pk.column if meta.pk is not None else "id"
    returning = bool(db.features.can_return_columns_from_insert and meta.auto_field)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))})"
        + (f" RETURNING {quote(pk)}" if returning else "")
    )
    return _Insert(sql, fields, pk, returning)


def insert(model: type[Model], values: dict[str, Any]) -> Any:
    """Insert one row of `model` (attribute names → values; the fields' defaults and
    `auto_now(_add)` for the rest) and return its primary key. Raises the backend's
    `IntegrityError` like `Model.objects.create`; inside a transaction, a savepoint keeps that
    transaction usable when the row is refused."""
    db = connections[model._default_manager.db]
    plan = _cached(db, ("insert", model), lambda: _insert_plan(db, model))
    params = []
    for field in plan.fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = timezone.now()
        elif field.attname in values:
            value = values[field.attname]
        else:
            value = field.get_default()
        params.append(field.get_db_prep_save(value, db))
    guard = transaction.atomic(using=db.alias) if db.in_atomic_block else nullcontext()
    with guard, db.cursor() as cursor:
        cursor.execute(plan.sql, params)
        if plan.returning:
            return cursor.fetchone()[0]
        return db.ops.last_insert_id(cursor, model._meta.db_table, plan.pk)
