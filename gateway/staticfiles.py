"""Static files served by the gateway process itself (Daphne serves none): WhiteNoise's file
index and responses, spoken over ASGI in front of Django, so a script or stylesheet costs one
dictionary look-up and no trip through Django's middleware.

`collectstatic` (make run, the container image) writes hashed, compressed copies to STATIC_ROOT:
those are served gzip- or brotli-encoded as the browser accepts, cached for ten years
(`immutable`). A file not collected (yet: tests, a checkout started without `make run`) is
served from its app's static/ folder, cached for a minute, under its plain name."""

import asyncio
from pathlib import Path
from typing import Any

from django.contrib.staticfiles.storage import staticfiles_storage
from whitenoise.compress import Compressor
from whitenoise.middleware import WhiteNoiseMiddleware
from whitenoise.responders import StaticFile
from whitenoise.storage import CompressedManifestStaticFilesStorage

CHUNK_BYTES = 256 * 1024


class _UnchangedSkipped(Compressor):  # type: ignore[misc]  # whitenoise is untyped
    """Compresses a file only when it changed since its compressed copies were written (they
    carry its mtime): a second `collectstatic` (every `make run`) takes seconds, not fifteen."""

    def compress(self, path: str) -> list[str]:
        mtime = Path(path).stat().st_mtime
        suffixes = [s for s, on in ((".br", self.use_brotli), (".gz", self.use_gzip)) if on]
        copies = [Path(path + suffix) for suffix in suffixes]
        if copies and all(c.is_file() and c.stat().st_mtime == mtime for c in copies):
            return [str(c) for c in copies]
        return list(super().compress(path))


class GatewayStaticStorage(CompressedManifestStaticFilesStorage):  # type: ignore[misc]  # untyped
    """collectstatic's storage: hashed names, gzip and brotli copies, a manifest.

    Before collectstatic ran, or for a file added since, `{% static %}` gives the plain name
    (served from the app's folder) instead of failing the page."""

    manifest_strict = False

    def create_compressor(self, **kwargs: Any) -> Compressor:
        return _UnchangedSkipped(**kwargs)

    def stored_name(self, name: str) -> str:
        if not self.hashed_files:
            return name
        try:
            return str(super().stored_name(name))
        except ValueError:  # not in the manifest nor in STATIC_ROOT
            return name


class StaticFileIndex(WhiteNoiseMiddleware):  # type: ignore[misc]  # whitenoise is untyped
    """WhiteNoise's index of every static URL, built once at start: STATIC_ROOT's collected
    files first, then the apps' static/ folders for what was not collected."""

    def add_files(self, root: str, prefix: str | None = None) -> None:
        if Path(root).is_dir():  # no STATIC_ROOT before the first collectstatic: no warning
            super().add_files(root, prefix)

    def add_file_to_dictionary(self, url: str, path: str, stat_cache: Any = None) -> None:
        if url not in self.files:  # a collected (compressed) copy wins over the app's file
            super().add_file_to_dictionary(url, path, stat_cache=stat_cache)

    def get_static_url(self, name: str) -> str | None:
        try:
            return str(staticfiles_storage.url(name))
        except ValueError:
            return None


def _request_headers(scope: dict[str, Any]) -> dict[str, str]:
    """The request's headers as WhiteNoise reads them (WSGI's HTTP_* names)."""
    return {
        "HTTP_" + name.decode("latin-1").upper().replace("-", "_"): value.decode("latin-1")
        for name, value in scope.get("headers", [])
    }


def _open(static_file: StaticFile, method: str, headers: dict[str, str]) -> tuple[Any, bytes]:
    """WhiteNoise's response (it opens the file) and the first chunk of its body: one thread hop
    for a typical script or stylesheet."""
    response = static_file.get_response(method, headers)
    first = response.file.read(CHUNK_BYTES) if response.file is not None else b""
    return response, first


class StaticFilesApp:
    """ASGI: GET and HEAD of a known static URL are answered here; every other request goes to
    the wrapped application (an unknown /static/ path gets Django's 404)."""

    def __init__(self, application: Any) -> None:
        self.application = application
        self.index = StaticFileIndex(get_response=None)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        static_file = self.index.files.get(scope["path"]) if scope["type"] == "http" else None
        if static_file is None:
            await self.application(scope, receive, send)
            return
        response, chunk = await asyncio.to_thread(
            _open, static_file, scope["method"], _request_headers(scope)
        )
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        await send(
            {"type": "http.response.start", "status": int(response.status), "headers": headers}
        )
        body = response.file
        try:
            while body is not None and len(chunk) == CHUNK_BYTES:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                chunk = await asyncio.to_thread(body.read, CHUNK_BYTES)
            await send({"type": "http.response.body", "body": chunk})
        finally:
            if body is not None:
                await asyncio.to_thread(body.close)


def with_static_files(application: Any) -> Any:
    """Wrap the Django ASGI application so /static/... is answered before it."""
    return StaticFilesApp(application)
