"""PostgreSQL keyword search reads per-word ranks from a postings table (`memory_chunk_terms`)
kept in step with the chunks by triggers; filled here from the existing chunks. A no-op on
SQLite, whose FTS5 index already ranks without visiting every match.
"""

from django.db import migrations

from memory import fts


def forwards(apps, schema_editor):
    fts.install_postings(schema_editor.connection)


def backwards(apps, schema_editor):
    fts.uninstall_postings(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("memory", "0003_curation_run")]

    operations = [migrations.RunPython(forwards, backwards)]
