"""A fixed set of static files served with a strong ETag: the pages' scripts and styles (the
dashboard's own, the documentation's from its package). A fixed list, so no request path ever
reaches the file system."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import lru_cache
from html import escape
from pathlib import Path

from fastapi.responses import HTMLResponse, Response

from api.kit.errors import NotFound
from api.kit.i18n import Message


def plain_page(title: str, body: str) -> HTMLResponse:
    """A small page the service renders itself (an acknowledgement, a problem type): Chinese
    first, fit for a phone, nothing loaded from elsewhere. `body` is HTML, escaped by the
    caller; the title is escaped here."""
    return HTMLResponse(
        "<!doctype html><html lang=zh><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)}</title><body style='font-family:sans-serif;margin:2em'>"
        f"{body}</body></html>"
    )


@lru_cache(maxsize=64)
def _load(path: Path, mtime_ns: int) -> tuple[bytes, str]:
    """The file's bytes and strong ETag (keyed by mtime, so an edited file is read again)."""
    body = path.read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


class FixedFiles:
    """The files of one directory that may be served, each with its media type."""

    def __init__(self, directory: Path, files: Mapping[str, str], *, what: Message) -> None:
        self.directory = directory
        self.files = dict(files)
        self.what = what

    def serve(self, name: str, if_none_match: str | None) -> Response:
        """The file (or 304 when the client holds it; 404 for a name not in the list).
        Revalidated on every load (cheap: a 304), so a deploy shows on the next reload."""
        if name not in self.files:
            raise NotFound(Message("No {what} file {name!r}.", what=self.what, name=name))
        path = self.directory / name
        body, etag = _load(path, path.stat().st_mtime_ns)
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if if_none_match is not None and etag in {t.strip() for t in if_none_match.split(",")}:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=self.files[name], headers=headers)
