"""Bindings: the most specific one names the agent (thread > group > peer), else the account's
agent; a binding names exactly one peer, or a group and maybe one of its threads."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from agents.models import Agent
from gateway.bindings import Where, agent_for, winner
from gateway.messages import InboundMessage
from gateway.models import Binding, ChannelAccount
from tests.security.conftest import make_account

PEER = Binding(peer="u1")
GROUP = Binding(group="g1")
THREAD = Binding(group="g1", thread="t7")
OTHER_GROUP = Binding(group="g2")
OTHER_THREAD = Binding(group="g1", thread="t8")
ALL = [PEER, GROUP, THREAD, OTHER_GROUP, OTHER_THREAD]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (Where("u1", "u1"), PEER),  # the peer's direct messages
        (Where("u2", "u2"), None),  # anyone else's: the account's agent
        (Where("u1", "g1", is_group=True), GROUP),  # a peer binding never splits a group
        (Where("u2", "g1", "t7", is_group=True), THREAD),  # the thread beats its group
        (Where("u2", "g1", "t9", is_group=True), GROUP),  # an unbound thread: its group's
        (Where("u2", "g3", is_group=True), None),
        (Where("u2", "g3", "t7", is_group=True), None),  # t7 of another group is not bound
    ],
)
def test_the_most_specific_binding_wins(where: Where, expected: Binding | None) -> None:
    assert winner(ALL, where) is expected
    assert winner(list(reversed(ALL)), where) is expected  # whatever the order they come in


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({}, "Name a peer, a group or a thread"),
        ({"thread": "t1"}, "needs the group"),
        ({"peer": "u1", "group": "g1"}, "not both"),
    ],
)
def test_a_binding_names_one_peer_or_one_group(fields: dict[str, str], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        Binding(**fields).clean()


@pytest.mark.django_db
def test_the_database_refuses_a_binding_naming_nothing(account: ChannelAccount) -> None:
    with pytest.raises(IntegrityError):
        Binding.objects.create(account=account, agent=account.agent)


@pytest.mark.django_db
def test_agent_for_reads_the_accounts_bindings(account: ChannelAccount) -> None:
    helper = Agent.objects.create(slug="helper", name="Helper")
    Binding.objects.create(account=account, group="-100", agent=helper)
    elsewhere = make_account()  # the same group id on another account is not bound
    Binding.objects.create(account=elsewhere, peer="42", agent=helper)

    def message(chat: str, sender: str = "42", thread: str = "") -> InboundMessage:
        is_group = chat.startswith("-")
        return InboundMessage(
            "telegram", "x", chat, sender, "1", "hi", thread_id=thread, is_group=is_group
        )

    assert agent_for(account, message("-100")) == helper
    assert agent_for(account, message("-100", thread="5")) == helper
    assert agent_for(account, message("-200")) == account.agent
    assert agent_for(account, message("42")) == account.agent
    assert agent_for(elsewhere, message("42")) == helper
    assert agent_for(elsewhere, message("-100")) == elsewhere.agent
