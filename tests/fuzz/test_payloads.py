"""Fuzzing what platforms send: any JSON shape parses to a message or to nothing, never to an
exception (a webhook view would turn that into a 500 and the platform would retry forever)."""

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.adapters.slack import inbound_from_event
from gateway.adapters.telegram_updates import BotIdentity, parse_update
from gateway.adapters.whatsapp import parse_webhook

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
keys = st.sampled_from(
    ["type", "subtype", "text", "user", "channel", "channel_type", "ts", "thread_ts", "bot_id",
     "message", "chat", "from", "id", "entities", "reply_to_message", "message_thread_id",
     "photo", "entry", "changes", "value", "messages", "contacts", "statuses", "metadata",
     "wa_id", "profile", "name", "body", "offset", "length", "username", "is_forum"]
)  # fmt: skip
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(keys | st.text(max_size=5), inner, max_size=5)
    ),
    max_leaves=25,
)
objects = st.dictionaries(keys, json_values, max_size=8)


@settings(max_examples=300, deadline=None)
@given(event=objects)
def test_slack_events_never_raise(event: dict[str, Any]) -> None:
    message = inbound_from_event("default", event, "UBOT")
    assert message is None or isinstance(message.text, str)


@settings(max_examples=300, deadline=None)
@given(update=objects)
def test_telegram_updates_never_raise(update: dict[str, Any]) -> None:
    message = parse_update(update, "default", BotIdentity(42, "openclaw_bot"))
    assert message is None or isinstance(message.text, str)


@settings(max_examples=300, deadline=None)
@given(payload=objects)
def test_whatsapp_webhooks_never_raise(payload: dict[str, Any]) -> None:
    for _, message in parse_webhook("default", payload):
        assert isinstance(message.text, str)


def either(good: Any) -> st.SearchStrategy[Any]:
    """Mostly a well-formed value, sometimes anything at all."""
    return st.one_of(st.just(good), st.just(good), json_values)


telegram_updates = st.fixed_dictionaries(
    {
        "update_id": either(7),
        "message": st.fixed_dictionaries(
            {
                "message_id": either(5),
                "chat": st.fixed_dictionaries(
                    {
                        "id": either(-100),
                        "type": st.sampled_from(["private", "group", "supergroup", "channel"])
                        | json_values,
                    }
                ),
                "from": st.fixed_dictionaries(
                    {"id": either(9), "first_name": either("Ann"), "username": either("ann")}
                ),
                "text": either("@openclaw_bot hello"),
            },
            optional={
                "entities": either([{"type": "mention", "offset": 0, "length": 13}]),
                "reply_to_message": either({"message_id": 1, "from": {"id": 42}}),
                "message_thread_id": either(3),
                "photo": either([{"file_id": "x"}]),
            },
        ),
    }
)
whatsapp_message = st.fixed_dictionaries(
    {
        "from": either("155"),
        "id": either("wamid.1"),
        "type": st.sampled_from(["text", "button", "interactive", "image", "reaction"])
        | json_values,
    },
    optional={
        "text": either({"body": "hi"}),
        "button": either({"text": "Yes"}),
        "interactive": either({"button_reply": {"title": "OK"}}),
    },
)
whatsapp_payloads = st.fixed_dictionaries(
    {
        "object": either("whatsapp_business_account"),
        "entry": st.lists(
            st.fixed_dictionaries(
                {
                    "changes": st.lists(
                        st.fixed_dictionaries(
                            {
                                "field": either("messages"),
                                "value": st.fixed_dictionaries(
                                    {
                                        "metadata": either({"phone_number_id": "123"}),
                                        "contacts": either(
                                            [{"wa_id": "155", "profile": {"name": "Ann"}}]
                                        ),
                                        "messages": st.lists(whatsapp_message, max_size=2)
                                        | json_values,
                                    }
                                )
                                | json_values,
                            }
                        ),
                        max_size=2,
                    )
                    | json_values
                }
            ),
            max_size=2,
        )
        | json_values,
    }
)
slack_events = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["message", "app_mention"]) | json_values,
        "user": either("U1"),
        "text": either("<@UBOT> hello"),
        "channel": either("C1"),
        "ts": either("1700000000.000100"),
    },
    optional={
        "channel_type": either("im"),
        "thread_ts": either("1.2"),
        "subtype": either("file_share"),
        "files": either([{}]),
        "bot_id": either("B1"),
    },
)


@settings(max_examples=300, deadline=None)
@given(update=telegram_updates)
def test_nearly_valid_telegram_updates_never_raise(update: dict[str, Any]) -> None:
    parse_update(update, "default", BotIdentity(42, "openclaw_bot"))


@settings(max_examples=300, deadline=None)
@given(payload=whatsapp_payloads)
def test_nearly_valid_whatsapp_webhooks_never_raise(payload: dict[str, Any]) -> None:
    parse_webhook("default", payload)


@settings(max_examples=300, deadline=None)
@given(event=slack_events)
def test_nearly_valid_slack_events_never_raise(event: dict[str, Any]) -> None:
    inbound_from_event("default", event, "UBOT")
