"""Named memory files (`memory/2026-11-02-meeting.md`): their rows, and chunk paths long
enough for them. SQLite rebuilds the chunk table for the AlterField and so drops its FTS
triggers: they are installed again here (memory/migrations/0002's docstring)."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

from memory import fts


def reinstall_fts(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        fts.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0002_alter_agent_api_key_env"),
        ("memory", "0005_stemmed_line_terms"),
    ]

    operations = [
        migrations.AlterField(
            model_name="memorychunk",
            name="path",
            field=models.CharField(max_length=255),
        ),
        migrations.CreateModel(
            name="MemoryNote",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("content", models.TextField(blank=True)),
                ("content_hash", models.CharField(blank=True, max_length=64)),
                ("mtime_ns", models.BigIntegerField(blank=True, null=True)),
                ("size", models.BigIntegerField(blank=True, null=True)),
                (
                    "missing",
                    models.BooleanField(
                        default=False,
                        help_text="The file is gone from disk; saving here writes it again.",
                    ),
                ),
                ("updated_by", models.CharField(blank=True, max_length=150)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "name",
                    models.CharField(help_text="The file's name inside memory/.", max_length=200),
                ),
                ("date", models.DateField(blank=True, null=True)),
                (
                    "agent",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="memory_notes",
                        to="agents.agent",
                    ),
                ),
            ],
            options={
                "ordering": ["name"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("agent", "name"), name="one_memory_note_per_name"
                    )
                ],
            },
        ),
        migrations.RunPython(reinstall_fts, migrations.RunPython.noop),
    ]
