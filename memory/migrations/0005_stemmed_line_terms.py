"""Search terms become English stems, one line of terms per line of text (memory.markdown
.search_text): every chunk's `search_text` is rewritten (the triggers re-index it), and SQLite
gets the vocabulary table that line scoring reads document frequencies from.
"""

from django.db import migrations

from memory import fts
from memory.markdown import search_text, split_lines

BATCH = 500


def forwards(apps, schema_editor):
    fts.install(schema_editor.connection)
    chunk_model = apps.get_model("memory", "MemoryChunk")
    chunks = chunk_model.objects.using(schema_editor.connection.alias).order_by("pk")
    batch = []
    for chunk in chunks.only("pk", "heading", "text").iterator(chunk_size=BATCH):
        chunk.search_text = search_text(chunk.heading, split_lines(chunk.text))
        batch.append(chunk)
        if len(batch) >= BATCH:
            chunk_model.objects.bulk_update(batch, ["search_text"])
            batch = []
    if batch:
        chunk_model.objects.bulk_update(batch, ["search_text"])


class Migration(migrations.Migration):
    dependencies = [("memory", "0004_search_postings")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
