"""Frame parsing: every kind of bad frame maps to its error code."""

import json

import pytest

from gateway.protocol import ProtocolError, int_param, optional_str, parse_request, require_str

LIMIT = 1024


@pytest.mark.parametrize(
    ("raw", "code", "request_id"),
    [
        (None, "bad_frame", None),
        ("not json", "bad_frame", None),
        ("[1, 2]", "bad_frame", None),
        ('"text"', "bad_frame", None),
        ('{"type": "req", "method": "health"}', "bad_frame", None),
        ('{"type": "req", "id": 5, "method": "health"}', "bad_frame", None),
        ('{"type": "req", "id": "", "method": "health"}', "bad_frame", None),
        ('{"type": "res", "id": "a", "method": "health"}', "bad_frame", "a"),
        ('{"type": "req", "id": "a"}', "bad_frame", "a"),
        ('{"type": "req", "id": "a", "method": 3}', "bad_frame", "a"),
        ('{"type": "req", "id": "a", "method": "x", "params": []}', "bad_params", "a"),
        ("x" * (LIMIT + 1), "too_large", None),
        (
            json.dumps({"type": "req", "id": "a", "method": "m", "params": {"t": "é" * 600}}),
            "too_large",
            None,
        ),
    ],
)
def test_bad_frames_raise_their_error_code(
    raw: str | None, code: str, request_id: str | None
) -> None:
    with pytest.raises(ProtocolError) as err:
        parse_request(raw, max_bytes=LIMIT)
    assert err.value.code == code
    assert err.value.request_id == request_id


def test_a_good_frame_parses_with_default_params() -> None:
    request = parse_request('{"type":"req","id":"7","method":"health"}', max_bytes=LIMIT)
    assert (request.id, request.method, request.params) == ("7", "health", {})


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "bad_params"),
        ({"s": 1}, "bad_params"),
        ({"s": "   "}, "bad_params"),
        ({"s": "x" * 11}, "too_large"),
    ],
)
def test_require_str_rejects(params: dict[str, object], code: str) -> None:
    with pytest.raises(ProtocolError) as err:
        require_str(params, "s", max_len=10)
    assert err.value.code == code


def test_optional_str_treats_empty_as_absent() -> None:
    assert optional_str({"s": ""}, "s") is None
    assert optional_str({}, "s") is None
    assert optional_str({"s": "k"}, "s") == "k"


@pytest.mark.parametrize("value", [True, "5", 0, 501, 1.5])
def test_int_param_rejects(value: object) -> None:
    with pytest.raises(ProtocolError):
        int_param({"n": value}, "n", default=50, low=1, high=500)
