"""Full-text index for memory chunks: FTS5 + triggers on SQLite, tsvector trigger + GIN on
PostgreSQL. Each half is a no-op on the other backend.

SQLite drops a table's triggers when Django rebuilds the table (any AlterField on MemoryChunk):
such a migration must call `memory.fts.install` again (tests/memory/test_search.py checks).
"""

from django.db import migrations

from memory import fts


def forwards(apps, schema_editor):
    fts.install(schema_editor.connection)


def backwards(apps, schema_editor):
    fts.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("memory", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
