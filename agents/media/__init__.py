"""Media: files people send the agent and files it sends back (docs/media.md).

The platform-neutral contracts, one module each:

- `types`: the `Media` reference kept in transcripts and the journal, and `MediaRefused`, the one
  refusal type (its message is what the user is told).
- `store`: the only code that writes media files (`OPENCLAW_HOME/media/<agent>/<date>/`), with
  the size cap, detection by content and the decompression-bomb check; `resolve` finds a stored
  file again from its relative path.
- `detect`: the file's type from its bytes (never the sender's claim).
- `prepare`: what the model reads of an attachment (a transcript, extracted text, a note).
- `parts`: images as model content parts, loaded at model-call time.
- `outbound`: the files an answer sends (`send_file` calls, Markdown image links).
- `retention`: media day folders follow the transcript archive.

This package is in the agents layer: the gateway imports it, it never imports the gateway.
"""
