"""Several agents behind one Telegram bot, end to end (a real gateway long-polling the fake Bot
API): bindings route a group, a forum topic or a person's direct messages to a second agent
while the rest stays with the account's agent; and what a group said without addressing the bot
is given as context when it is addressed there, and nowhere else."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import JSON, FakeOpenAI, user_texts
from tests.fakes.telegram_server import FakeTelegram
from tests.gateway_process import Gateway
from tests.telegram_e2e import configure, polling_gateway, telegram_env, wait_texts

pytestmark = pytest.mark.e2e

FRIEND, PEER = 6001, 6002  # allowed direct-message senders; PEER is bound to the helper
BOUND, FORUM, PLAIN, OTHER = -100701, -100702, -100703, -100704
HELPER_RULES = "HELPER-RULES: you answer the bound conversations."


@pytest.fixture(scope="module")
def gateway(
    migrated_home: Path,
    tmp_path_factory: pytest.TempPathFactory,
    fake: FakeTelegram,
    model: FakeOpenAI,
) -> Iterator[Gateway]:
    factory = GatewayFactory(migrated_home, tmp_path_factory.mktemp("routing"), model)
    env = telegram_env(fake)
    groups = [str(g) for g in (BOUND, FORUM, PLAIN, OTHER)]
    code = (
        "from agents.models import Agent\n"
        "from gateway.models import Binding, ChannelAccount\n"
        "account = ChannelAccount.objects.get(channel='telegram')\n"
        f"account.allow_from = ['{FRIEND}', '{PEER}']\n"
        f"account.group_allowlist = {groups!r}\n"
        "account.save()\n"
        "helper = Agent.objects.create(slug='helper', name='Helper', model='gpt-fake-2',"
        f" instructions={HELPER_RULES!r})\n"
        f"Binding.objects.create(account=account, group='{BOUND}', agent=helper)\n"
        f"Binding.objects.create(account=account, peer='{PEER}', agent=helper)\n"
        # The forum goes to the helper, except its topic 8, which a thread binding gives back.
        f"Binding.objects.create(account=account, group='{FORUM}', agent=helper)\n"
        f"Binding.objects.create(account=account, group='{FORUM}', thread='8', agent=account.agent)\n"
    )
    configure(factory.home, env, code)
    with polling_gateway(factory, fake, env) as gateway:
        yield gateway


def request_for(model: FakeOpenAI, text: str) -> JSON:
    """The one model request whose newest user message ends with `text`."""
    [body] = [
        r.body
        for r in model.requests
        if r.path.endswith("/chat/completions") and user_texts(r.body)[-1].endswith(text)
    ]
    return body


def system(body: JSON) -> str:
    return str(body["messages"][0]["content"])


def answered_by_helper(body: JSON, session: str) -> bool:
    prompt = system(body)
    return (
        body["model"] == "gpt-fake-2"
        and prompt.startswith("You are Helper")
        and HELPER_RULES in prompt
        and f"Session: {session}." in prompt
    )


def answered_by_main(body: JSON, session: str) -> bool:
    prompt = system(body)
    return (
        body["model"] == "gpt-fake"
        and prompt.startswith("You are Main")
        and HELPER_RULES not in prompt
        and f"Session: {session}." in prompt
    )


def test_a_bound_group_goes_to_the_second_agent_and_direct_messages_stay(
    gateway: Gateway, fake: FakeTelegram, model: FakeOpenAI
) -> None:
    fake.push_update(fake.text(BOUND, "@openclaw_bot plan the trip", sender=FRIEND))
    fake.push_update(fake.text(FRIEND, "a private question"))
    wait_texts(fake, BOUND, ["echo: plan the trip"])
    wait_texts(fake, FRIEND, ["echo: a private question"])
    group = request_for(model, "plan the trip")
    assert answered_by_helper(group, f"agent:helper:telegram:group:{BOUND}")
    direct = request_for(model, "a private question")
    assert answered_by_main(direct, f"agent:main:telegram:dm:{FRIEND}")
    # An unbound group stays with the account's agent too.
    fake.push_update(fake.text(PLAIN, "@openclaw_bot and here?", sender=FRIEND))
    wait_texts(fake, PLAIN, ["echo: and here?"])
    assert answered_by_main(request_for(model, "and here?"), f"agent:main:telegram:group:{PLAIN}")


def test_a_bound_peer_talks_to_the_second_agent_in_direct_messages_only(
    gateway: Gateway, fake: FakeTelegram, model: FakeOpenAI
) -> None:
    fake.push_update(fake.text(PEER, "peer in private"))
    wait_texts(fake, PEER, ["echo: peer in private"])
    body = request_for(model, "peer in private")
    assert answered_by_helper(body, f"agent:helper:telegram:dm:{PEER}")
    # In a group nobody bound, the peer's messages stay with the group's agent (one group, one
    # conversation).
    fake.push_update(fake.text(OTHER, "@openclaw_bot peer in a group", sender=PEER))
    wait_texts(fake, OTHER, ["echo: peer in a group"])
    body = request_for(model, "peer in a group")
    assert answered_by_main(body, f"agent:main:telegram:group:{OTHER}")


def test_a_thread_binding_beats_its_groups(
    gateway: Gateway, fake: FakeTelegram, model: FakeOpenAI
) -> None:
    seven = {"message_thread_id": 7, "is_topic_message": True}
    eight = {"message_thread_id": 8, "is_topic_message": True}
    fake.push_update(fake.text(FORUM, "@openclaw_bot in topic seven", sender=FRIEND, **seven))
    fake.push_update(fake.text(FORUM, "@openclaw_bot in topic eight", sender=FRIEND, **eight))
    fake.wait_for(lambda: len(fake.messages(FORUM)) == 2)
    where = {m.text: m.thread_id for m in fake.messages(FORUM)}
    assert where == {"echo: in topic seven": 7, "echo: in topic eight": 8}
    seven_body = request_for(model, "in topic seven")
    assert answered_by_helper(seven_body, f"agent:helper:telegram:group:{FORUM}:thread:7")
    eight_body = request_for(model, "in topic eight")
    assert answered_by_main(eight_body, f"agent:main:telegram:group:{FORUM}:thread:8")


def test_what_a_group_said_before_is_context_there_and_nowhere_else(
    gateway: Gateway, fake: FakeTelegram, model: FakeOpenAI
) -> None:
    """Unaddressed messages get no turn; the next time the bot is addressed in that group they
    come with the message, once, under their senders' names; another group, a direct message
    and a topic of another group never see them."""
    fake.push_update(fake.text(PLAIN, "the door code is 4471", sender=FRIEND))
    fake.push_update(fake.text(PLAIN, "noted, see you at 8", sender=PEER))
    fake.push_update(fake.text(OTHER, "@openclaw_bot what is the door code?", sender=PEER))
    fake.push_update(fake.text(FRIEND, "what did they say in the group?"))
    topic = {"message_thread_id": 9, "is_topic_message": True}
    fake.push_update(
        fake.text(FORUM, "@openclaw_bot code please, topic nine", sender=PEER, **topic)
    )
    fake.wait_for(lambda: len(fake.messages(OTHER)) >= 2 and len(fake.messages(FORUM)) >= 3)
    fake.wait_for(lambda: len(fake.messages(FRIEND)) >= 2)
    for asked in (
        "what is the door code?",
        "what did they say in the group?",
        "code please, topic nine",
    ):
        assert "4471" not in json.dumps(request_for(model, asked))
    assert not any("see you at 8" in json.dumps(r.body) for r in model.requests)  # no turn yet

    fake.push_update(fake.text(PLAIN, "@openclaw_bot can you remind us?", sender=FRIEND))
    fake.wait_for(lambda: any("remind us" in t for t in (m.text for m in fake.messages(PLAIN))))
    said = user_texts(request_for(model, "can you remind us?"))[-1]
    lines = said.split("\n")
    assert lines[1:3] == ["User6001: the door code is 4471", "User6002: noted, see you at 8"]
    assert lines[0].startswith("[Earlier messages in this chat, not addressed to you")
    assert lines[-1] == "can you remind us?"

    fake.push_update(fake.text(PLAIN, "@openclaw_bot thanks", sender=FRIEND))
    fake.wait_for(lambda: any("thanks" in m.text for m in fake.messages(PLAIN)))
    assert user_texts(request_for(model, "thanks"))[-1] == "thanks"  # given once
