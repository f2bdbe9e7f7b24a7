"""Search chunks of one memory document: rebuilt whenever its content changes."""

from memory.files import content_hash
from memory.markdown import chunk_markdown, search_text, split_lines
from memory.models import DailyLog, MemoryChunk, MemoryNote, WorkingMemory

Document = WorkingMemory | DailyLog | MemoryNote


def index_document(doc: Document) -> int:
    """Replace the document's chunks with fresh ones (none while its file is missing).

    Callers hold the document's write lock (memory.sync), so two indexers never interleave.
    """
    MemoryChunk.objects.filter(agent_id=doc.agent_id, path=doc.path).delete()
    if doc.missing:
        return 0
    rows = [
        MemoryChunk(
            agent_id=doc.agent_id,
            path=doc.path,
            date=doc.day,
            start_line=chunk.start_line,
            end_line=chunk.end_line,
            heading=chunk.heading[:200],
            text=chunk.text,
            text_hash=content_hash(chunk.text),
            # The heading makes a section's later chunks findable by its title; one line of
            # terms per line of text lets search score lines without stemming them again.
            search_text=search_text(chunk.heading, split_lines(chunk.text)),
        )
        for chunk in chunk_markdown(doc.content)
    ]
    MemoryChunk.objects.bulk_create(rows, batch_size=500)
    return len(rows)
