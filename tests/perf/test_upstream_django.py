"""Django internals that `openclaw/perf/rows.py` plans its statements with: the SQL compiler's
`get_converters`, `Model.from_db` and the fields' preparation methods, as rows.py calls them.
(`tests/perf/test_rows.py` checks that what rows.py reads and writes equals the ORM's.)"""

import datetime as dt
import inspect

import pytest
from django.db import connection
from django.db.models import Expression, Field, Model
from django.db.models.sql import Query

from agents.models import Session
from tests.perf.upstream import revisit

ROWS = "openclaw/perf/rows.py"


def _why(what: str) -> str:
    return revisit(ROWS, "django", what)


@pytest.mark.parametrize(
    ("method", "parameters"),
    [
        (Model.from_db, ["db", "field_names", "values"]),
        (Field.get_col, ["self", "alias", "output_field"]),
        (Field.get_db_prep_save, ["self", "value", "connection"]),
        (Field.get_db_prep_value, ["self", "value", "connection", "prepared"]),
    ],
    ids=lambda v: getattr(v, "__qualname__", ""),
)
def test_the_model_and_field_methods_rows_calls_keep_their_signatures(
    method: object, parameters: list[str]
) -> None:
    assert callable(method)
    found = list(inspect.signature(method).parameters)
    assert found == parameters, _why(f"the signature of {getattr(method, '__qualname__', method)}")


def test_the_compiler_still_hands_out_converters_by_column_position() -> None:
    """rows.py applies `convert(value, expression, connection)` for each `position: (converters,
    expression)` the compiler gives, as the ORM's own row iterator does."""
    meta = Session._meta
    fields = [meta.get_field(name) for name in ("created_at", "key")]
    assert all(isinstance(f, Field) for f in fields)
    compiler = connection.ops.compiler("SQLCompiler")(Query(Session), connection, connection.alias)
    assert list(inspect.signature(compiler.get_converters).parameters) == ["expressions"], _why(
        "SQLCompiler.get_converters' signature"
    )
    columns: list[Expression] = [f.get_col(meta.db_table) for f in fields if isinstance(f, Field)]
    converters = compiler.get_converters(columns)
    assert isinstance(converters, dict), _why("what get_converters returns")
    for position, entry in converters.items():
        assert isinstance(position, int) and 0 <= position < len(fields), _why("its positions")
        convs, expression = entry
        assert all(callable(c) for c in convs), _why("its converters")
        assert getattr(expression, "target", None) in fields, _why("its expressions")
    if connection.vendor == "sqlite":  # SQLite stores dates as text: a converter must parse it
        assert 0 in converters, _why("the converters of a date column")
        (convert, *_), expression = converters[0]
        value = convert("2026-03-01 10:00:00", expression, connection)
        assert isinstance(value, dt.datetime), _why("a datetime converter's call")
