"""AuditEvent now belongs to openclaw.audit: drop it from this app's state only; the table
(gateway_auditevent) and its rows stay, owned by the new app."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("gateway", "0003_journal_resume"),
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEvent")],
            database_operations=[],
        ),
    ]
