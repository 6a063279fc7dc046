"""`Content-Disposition` for a download whose name may be Chinese (RFC 6266 with RFC 5987's
`filename*`): an ASCII fallback for old clients, the real name UTF-8 percent-encoded."""

from __future__ import annotations

import unicodedata
from pathlib import PurePosixPath
from urllib.parse import quote

# RFC 5987 attr-char: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" /
# "`" / "|" / "~"; everything else is percent-encoded.
_ATTR_SAFE = "!#$&+-.^_`|~"


def safe_name(name: str, *, limit: int = 255) -> str:
    """A file name as kept: no directories, no control characters, not empty."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().strip(".")
    return (name or "file")[:limit]


def ascii_fallback(name: str) -> str:
    """The name for clients that do not read `filename*`: ASCII only, no quotes or
    backslashes; the extension kept when the stem had to go."""
    decomposed = unicodedata.normalize("NFKD", name)
    out = "".join(
        c if 32 <= ord(c) < 127 and c not in '"\\;%' else "_"
        for c in decomposed
        if not unicodedata.combining(c)
    )
    suffix = PurePosixPath(name).suffix
    if out.strip("_. ") in ("", suffix.strip(".")):
        out = "file" + (suffix if suffix.isascii() else "")
    return out


def content_disposition(name: str, kind: str = "attachment") -> str:
    """`attachment; filename="…ascii…"; filename*=UTF-8''…`."""
    encoded = quote(name, safe=_ATTR_SAFE, encoding="utf-8")
    return f"{kind}; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{encoded}"
