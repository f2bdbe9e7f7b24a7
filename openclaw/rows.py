"""The few statements every turn runs, as plain SQL: compiling the ORM's version of them cost
more CPU than running them (bench/README.md, "Optimisations"), on the one thread all database
calls of the gateway share. Names come from the models, every value is a parameter."""

from typing import Any

from django.db import connection
from django.db.models import Model


def table(model: type[Model]) -> str:
    """The model's table name, quoted for the current backend."""
    return str(connection.ops.quote_name(model._meta.db_table))


def first_where[M: Model](model: type[M], equals: dict[str, Any]) -> M | None:
    """The first row whose columns equal `equals`, as the ORM's own instance (`raw` applies the
    fields' converters), or None."""
    where = " AND ".join(f"{connection.ops.quote_name(column)} = %s" for column in equals)
    sql = f"SELECT * FROM {table(model)} WHERE {where}"  # noqa: S608  # names from the model
    return next(iter(model._default_manager.raw(sql, list(equals.values()))), None)
