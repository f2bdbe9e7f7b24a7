"""The access policy as a table: senders x policies x chat kinds → outcome (pure, no database)."""

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.policy import (
    AccountPolicy,
    Decision,
    Deliver,
    Ignore,
    InboundFacts,
    PairingRequired,
    Refuse,
    decide,
)

OWNER, LISTED, PAIRED, STRANGER, GROUP_MEMBER = "u-owner", "u-listed", "u-paired", "u-x", "u-gm"
GROUP, OTHER_GROUP = "g-allowed", "g-other"

BASE = AccountPolicy(
    channel="telegram",
    account_id="bot1",
    allow_from=frozenset({LISTED}),
    owner_ids=frozenset({OWNER}),
    group_allowlist=frozenset({GROUP}),
    mention_patterns=(r"\bclaw\b",),
)


def dm(sender: str, text: str = "hello") -> InboundFacts:
    return InboundFacts("telegram", "bot1", sender, f"dm-{sender}", False, text=text)


def group(
    sender: str,
    chat: str = GROUP,
    *,
    mentioned: bool = False,
    reply_to_bot: bool = False,
    text: str = "hello all",
) -> InboundFacts:
    return InboundFacts("telegram", "bot1", sender, chat, True, mentioned, reply_to_bot, text)


def run(inbound: InboundFacts, policy: AccountPolicy = BASE) -> Decision:
    return decide(inbound, policy, approved=inbound.sender_id == PAIRED)


DELIVER_DM, DELIVER_MAIN, DELIVER_GROUP = Deliver("dm"), Deliver("main"), Deliver("group")
PAIR = PairingRequired()


def summary(decision: Decision) -> object:
    if isinstance(decision, Refuse):
        return ("refuse", decision.reason)
    if isinstance(decision, Ignore):
        return ("ignore", decision.reason)
    return decision


# Direct messages: every sender kind under every DM policy.
DM_TABLE: dict[str, dict[str, object]] = {
    "pairing": {
        OWNER: DELIVER_MAIN,
        LISTED: DELIVER_DM,
        PAIRED: DELIVER_DM,
        STRANGER: PAIR,
    },
    "allowlist": {
        OWNER: DELIVER_MAIN,
        LISTED: DELIVER_DM,
        PAIRED: DELIVER_DM,
        STRANGER: ("refuse", "not_allowlisted"),
    },
    "open": {OWNER: DELIVER_MAIN, LISTED: DELIVER_DM, PAIRED: DELIVER_DM, STRANGER: DELIVER_DM},
    "disabled": {
        OWNER: ("refuse", "dm_disabled"),
        LISTED: ("refuse", "dm_disabled"),
        PAIRED: ("refuse", "dm_disabled"),
        STRANGER: ("refuse", "dm_disabled"),
    },
}


@pytest.mark.parametrize(
    ("dm_policy", "sender", "expected"),
    [(p, s, e) for p, row in DM_TABLE.items() for s, e in row.items()],
)
def test_direct_message_table(dm_policy: str, sender: str, expected: object) -> None:
    policy = replace(BASE, dm_policy=dm_policy)  # type: ignore[arg-type]
    assert summary(run(dm(sender), policy)) == expected


NOT_ALLOWED = ("refuse", "group_not_allowed")
SENDER_REFUSED = ("refuse", "sender_not_allowed")
QUIET = ("ignore", "not_mentioned")

# Groups: policy x group listed or not x sender allowlist x how the bot was addressed.
GROUP_TABLE: list[tuple[str, dict[str, object], InboundFacts, object]] = [
    # group allowlist (default): listed group, mention gating on
    ("listed group, mentioned", {}, group(STRANGER, mentioned=True), DELIVER_GROUP),
    ("listed group, not addressed", {}, group(STRANGER), QUIET),
    ("listed group, reply to bot", {}, group(STRANGER, reply_to_bot=True), DELIVER_GROUP),
    ("listed group, pattern", {}, group(STRANGER, text="hey Claw, hi"), DELIVER_GROUP),
    ("pattern is a word match", {}, group(STRANGER, text="clawback"), QUIET),
    ("mention off", {"require_mention": False}, group(STRANGER), DELIVER_GROUP),
    # unlisted group: silent unless addressed, then told why
    ("unlisted group, quiet", {}, group(STRANGER, OTHER_GROUP), ("ignore", "group_not_allowed")),
    ("unlisted group, mentioned", {}, group(OWNER, OTHER_GROUP, mentioned=True), NOT_ALLOWED),
    ("unlisted, reply to bot", {}, group(STRANGER, OTHER_GROUP, reply_to_bot=True), NOT_ALLOWED),
    # open groups
    (
        "open, any group",
        {"group_policy": "open"},
        group(STRANGER, OTHER_GROUP, mentioned=True),
        DELIVER_GROUP,
    ),
    ("open, not addressed", {"group_policy": "open"}, group(STRANGER, OTHER_GROUP), QUIET),
    # groups disabled
    (
        "disabled, mentioned",
        {"group_policy": "disabled"},
        group(OWNER, mentioned=True),
        ("refuse", "groups_disabled"),
    ),
    ("disabled, quiet", {"group_policy": "disabled"}, group(OWNER), ("ignore", "groups_disabled")),
    # sender allowlist inside groups
    (
        "sender listed",
        {"group_sender_allowlist": frozenset({GROUP_MEMBER})},
        group(GROUP_MEMBER, mentioned=True),
        DELIVER_GROUP,
    ),
    (
        "owner passes sender list",
        {"group_sender_allowlist": frozenset({GROUP_MEMBER})},
        group(OWNER, mentioned=True),
        DELIVER_GROUP,
    ),
    (
        "sender unlisted",
        {"group_sender_allowlist": frozenset({GROUP_MEMBER})},
        group(STRANGER, mentioned=True),
        SENDER_REFUSED,
    ),
    # a reply to the bot never authorises an unapproved sender
    (
        "unlisted sender replies to bot",
        {"group_sender_allowlist": frozenset({GROUP_MEMBER})},
        group(STRANGER, reply_to_bot=True),
        SENDER_REFUSED,
    ),
    (
        "paired in DM is not a group sender",
        {"group_sender_allowlist": frozenset({GROUP_MEMBER})},
        group(PAIRED, mentioned=True),
        SENDER_REFUSED,
    ),
    (
        "unlisted sender, quiet",
        {"group_sender_allowlist": frozenset({GROUP_MEMBER})},
        group(STRANGER, reply_to_bot=False),
        ("ignore", "sender_not_allowed"),
    ),
    # DM policy does not leak into groups, nor group rules into DMs
    (
        "dm disabled, group fine",
        {"dm_policy": "disabled"},
        group(STRANGER, mentioned=True),
        DELIVER_GROUP,
    ),
    ("groups disabled, dm fine", {"group_policy": "disabled"}, dm(LISTED), DELIVER_DM),
]


@pytest.mark.parametrize(
    ("overrides", "inbound", "expected"),
    [pytest.param(o, i, e, id=name) for name, o, i, e in GROUP_TABLE],
)
def test_group_table(overrides: dict[str, object], inbound: InboundFacts, expected: object) -> None:
    policy = replace(BASE, **overrides)  # type: ignore[arg-type]
    assert summary(run(inbound, policy)) == expected


@pytest.mark.parametrize(
    ("inbound", "policy", "expected"),
    [
        (dm(OWNER), replace(BASE, enabled=False), ("ignore", "account_disabled")),
        (dm(""), BASE, ("ignore", "no_sender")),
        (replace(dm(OWNER), account_id="bot2"), BASE, ("ignore", "wrong_account")),
        (replace(dm(OWNER), channel="slack"), BASE, ("ignore", "wrong_account")),
        (group(STRANGER, text="claw"), replace(BASE, mention_patterns=("(unclosed",)), QUIET),
    ],
)
def test_edge_cases(inbound: InboundFacts, policy: AccountPolicy, expected: object) -> None:
    assert summary(run(inbound, policy)) == expected


def test_refusals_carry_a_message_for_the_sender() -> None:
    decision = run(dm(STRANGER), replace(BASE, dm_policy="allowlist"))
    assert isinstance(decision, Refuse) and "allowed" in decision.message


def test_pattern_only_scans_the_head_of_a_huge_message() -> None:
    text = "x" * 10_000 + " claw"
    assert summary(run(group(STRANGER, text=text))) == QUIET


@given(st.text(max_size=300))
def test_message_text_never_changes_a_direct_message_decision(text: str) -> None:
    for sender, expected in DM_TABLE["pairing"].items():
        assert summary(run(dm(sender, text))) == expected
