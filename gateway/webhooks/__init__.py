"""Webhook views, one module per platform: verify → parse → route (journal) → 200."""

from django.http import HttpRequest

# Platform updates are a few kilobytes (media arrive as ids); well under Django's own cap.
MAX_BODY_BYTES = 1024 * 1024


def body_too_large(request: HttpRequest) -> bool:
    """True when the body is over `MAX_BODY_BYTES`: judged by its declared length before it is
    read (an unreadable length counts as too large; Django would read up to 2.5 MB and log an
    error), then by what arrived."""
    declared = request.headers.get("Content-Length", "0")
    if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
        return True
    return len(request.body) > MAX_BODY_BYTES
