"""The audit trail's move from the gateway app to openclaw.audit: rows written before the move
stay readable through the new model, and permissions granted on the model survive it."""

import pytest
from django.apps.registry import Apps
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from openclaw.audit.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_THE_MOVE = [("gateway", "0003_journal_resume"), ("audit", None)]


def _migrate(targets: list[tuple[str, str | None]] | None = None) -> Apps:
    """Migrate to `targets` (default: every app's latest) and return the models of that state."""
    executor = MigrationExecutor(connection)
    state = executor.migrate(targets or executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()
    return state.apps


def test_audit_rows_and_permissions_survive_the_move_to_openclaw() -> None:
    old = _migrate(BEFORE_THE_MOVE)
    try:
        old_type = old.get_model("contenttypes", "ContentType").objects.get_or_create(
            app_label="gateway", model="auditevent"
        )[0]
        permission = old.get_model("auth", "Permission").objects.get_or_create(
            content_type=old_type, codename="view_auditevent", defaults={"name": "Can view"}
        )[0]
        auditor = old.get_model("auth", "User").objects.create(username="auditor")
        auditor.user_permissions.add(permission)
        row = old.get_model("gateway", "AuditEvent").objects.create(
            actor="cli:alice", action="pairing.approved", target="slack:T1", detail={"code": "X"}
        )
    finally:
        _migrate()

    event = AuditEvent.objects.get(pk=row.pk)
    assert (event.actor, event.action, event.target) == (
        "cli:alice",
        "pairing.approved",
        "slack:T1",
    )
    assert event.detail == {"code": "X"}
    assert ContentType.objects.get_for_model(AuditEvent).pk == old_type.pk
    assert not ContentType.objects.filter(app_label="gateway", model="auditevent").exists()
    assert User.objects.get(username="auditor").has_perm("audit.view_auditevent")
