"""Pairing services: one code per sender, at most 3 pending per account (the oldest giving way,
so throwaway senders cannot block pairing), 1 hour expiry, approve/deny remembered per account
and audited."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from gateway import pairing
from gateway.models import ApprovedSender, ChannelAccount, PairingRequest
from gateway.policy import Deliver, InboundFacts, PairingRequired, Refuse
from openclaw.audit.models import AuditEvent
from tests.security.conftest import make_account

pytestmark = pytest.mark.services


def test_codes_are_eight_characters_without_look_alikes() -> None:
    assert not set("01OIL") & set(pairing.CODE_ALPHABET)
    codes = {pairing.new_code() for _ in range(500)}
    assert len(codes) == 500
    assert all(len(c) == 8 and set(c) <= set(pairing.CODE_ALPHABET) for c in codes)


def test_an_unknown_sender_is_told_a_code_once(account: ChannelAccount) -> None:
    first = pairing.request_pairing(account, "u1", "Ann")
    again = pairing.request_pairing(account, "u1", "Ann")
    assert first.status == "created" and first.notify and first.code in first.message
    assert again.status == "existing" and not again.notify and again.code == first.code
    assert first.expires_at is not None
    assert abs(first.expires_at - timezone.now() - timedelta(hours=1)) < timedelta(seconds=5)
    assert PairingRequest.objects.filter(account=account, status="pending").count() == 1
    assert AuditEvent.objects.filter(action="pairing.requested", actor="system").count() == 1


def test_at_most_three_pending_per_account_the_oldest_giving_way(account: ChannelAccount) -> None:
    outcomes = [pairing.request_pairing(account, f"u{i}") for i in range(4)]
    assert [o.status for o in outcomes] == ["created"] * 4
    pending = PairingRequest.objects.filter(account=account, status="pending")
    assert sorted(pending.values_list("sender_id", flat=True)) == ["u1", "u2", "u3"]
    assert PairingRequest.objects.get(code=outcomes[0].code).status == "expired"
    assert AuditEvent.objects.filter(action="pairing.displaced").count() == 1
    # the displaced sender gets a new code when they write again
    again = pairing.request_pairing(account, "u0")
    assert again.status == "created" and again.code != outcomes[0].code
    # another account has its own cap
    assert pairing.request_pairing(make_account(), "u3").status == "created"


def test_throwaway_senders_cannot_block_pairing(account: ChannelAccount) -> None:
    """Three throwaway accounts write (and write again) before a real person does: the real
    person still gets a code an admin can approve."""
    for _ in range(3):
        for i in range(3):
            pairing.request_pairing(account, f"throwaway{i}")
    real = pairing.request_pairing(account, "real-person", "Ann")
    assert real.status == "created" and real.notify
    pairing.approve(real.code, "cli:test")
    assert pairing.is_approved(account, "real-person")


def test_codes_expire_after_an_hour_and_free_the_cap(account: ChannelAccount) -> None:
    old = timezone.now() - timedelta(hours=1, minutes=1)
    stale = [pairing.request_pairing(account, f"old{i}", now=old) for i in range(3)]
    fresh = pairing.request_pairing(account, "new")
    assert fresh.status == "created"
    assert set(
        PairingRequest.objects.filter(code__in=[s.code for s in stale]).values_list(
            "status", flat=True
        )
    ) == {"expired"}
    # the expired sender gets a new code when they write again
    again = pairing.request_pairing(account, "old0")
    assert again.status == "created" and again.code != stale[0].code


def test_approving_an_expired_code_fails_and_marks_it_expired(account: ChannelAccount) -> None:
    outcome = pairing.request_pairing(account, "late", now=timezone.now() - timedelta(minutes=61))
    with pytest.raises(pairing.PairingError, match="expired"):
        pairing.approve(outcome.code, "cli:test")
    assert PairingRequest.objects.get(code=outcome.code).status == "expired"
    assert not pairing.is_approved(account, "late")


def test_expire_stale_counts_and_audits(account: ChannelAccount) -> None:
    pairing.request_pairing(account, "b")
    pairing.request_pairing(account, "a", now=timezone.now() - timedelta(hours=2))
    assert pairing.expire_stale() == 1
    assert pairing.expire_stale() == 0
    event = AuditEvent.objects.get(action="pairing.expired")
    assert event.detail == {"count": 1}


def test_approval_is_remembered_per_account_and_audited(account: ChannelAccount) -> None:
    code = pairing.request_pairing(account, "u1", "Ann").code
    request = pairing.approve(code.lower()[:4] + " " + code.lower()[4:], "cli:alice")
    assert request.status == "approved" and request.decided_by == "cli:alice"
    assert pairing.is_approved(account, "u1")
    assert not pairing.is_approved(make_account(), "u1")
    sender = ApprovedSender.objects.get(account=account, sender_id="u1")
    assert sender.approved_by == "cli:alice" and sender.display_name == "Ann"
    event = AuditEvent.objects.get(action="pairing.approved")
    assert event.actor == "cli:alice" and event.detail["sender"] == "u1"
    with pytest.raises(pairing.PairingError, match="already approved"):
        pairing.deny(code, "cli:bob")
    assert pairing.request_pairing(account, "u1").status == "approved"


def test_a_denied_sender_gets_no_new_code_until_the_old_one_would_expire(
    account: ChannelAccount,
) -> None:
    code = pairing.request_pairing(account, "pest").code
    pairing.deny(code, "cli:alice")
    assert AuditEvent.objects.filter(action="pairing.denied", actor="cli:alice").exists()
    silent = pairing.request_pairing(account, "pest")
    assert silent.status == "denied" and not silent.notify
    later = pairing.request_pairing(account, "pest", now=timezone.now() + timedelta(hours=2))
    assert later.status == "created"


def test_unknown_code_is_an_error(db: None) -> None:
    with pytest.raises(pairing.PairingError, match="No pairing request"):
        pairing.approve("ZZZZZZZZ", "cli:test")


def _dm(account: ChannelAccount, sender: str) -> InboundFacts:
    return InboundFacts(
        account.channel, account.account_id, sender, f"dm-{sender}", False, sender_name="Zed"
    )


def test_admit_pairs_a_stranger_and_delivers_after_approval(account: ChannelAccount) -> None:
    first = pairing.admit(account, _dm(account, "z"))
    second = pairing.admit(account, _dm(account, "z"))
    assert isinstance(first.decision, PairingRequired) and first.reply is not None
    assert isinstance(second.decision, PairingRequired) and second.reply is None
    code = PairingRequest.objects.get(sender_id="z").code
    assert code in first.reply
    pairing.approve(code, "cli:test")
    assert pairing.admit(account, _dm(account, "z")).decision == Deliver("dm")


def test_admit_under_allowlist_refuses_strangers_but_keeps_approved(
    account: ChannelAccount,
) -> None:
    ApprovedSender.objects.create(account=account, sender_id="old-friend", approved_by="x")
    account.dm_policy = ChannelAccount.DmPolicy.ALLOWLIST
    account.save()
    refused = pairing.admit(account, _dm(account, "stranger"))
    assert isinstance(refused.decision, Refuse) and refused.reply
    assert not PairingRequest.objects.exists()
    assert pairing.admit(account, _dm(account, "old-friend")).decision == Deliver("dm")


@pytest.mark.django_db(transaction=True)
def test_the_pending_cap_holds_under_concurrent_requests() -> None:
    account = make_account()
    barrier = threading.Barrier(8)
    statuses: list[str] = []

    def worker(i: int) -> None:
        try:
            barrier.wait()
            statuses.append(pairing.request_pairing(account, f"racer{i}").status)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses) == ["created"] * 8
    assert PairingRequest.objects.filter(account=account, status="pending").count() == 3
