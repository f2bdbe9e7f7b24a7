"""`{% versioned_static "gateway/chat.js" %}`: a static URL that changes when the file does, so a
browser never runs an old script against a new page. After `collectstatic` the name itself is
hashed (gateway/staticfiles.py); before it (tests, a checkout started without `make run`) the
plain name is served, and this digest is what changes."""

import hashlib
from pathlib import Path

from django import template
from django.contrib.staticfiles import finders
from django.templatetags.static import static

register = template.Library()

_digests: dict[tuple[str, int], str] = {}


def _digest(path: str) -> str:
    found = finders.find(path)
    if not isinstance(found, str):
        return ""
    file = Path(found)
    key = (found, file.stat().st_mtime_ns)
    if key not in _digests:
        _digests[key] = hashlib.sha256(file.read_bytes()).hexdigest()[:12]
    return _digests[key]


@register.simple_tag
def versioned_static(path: str) -> str:
    digest = _digest(path)
    return f"{static(path)}?v={digest}" if digest else static(path)
