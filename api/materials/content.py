"""What a file is, by its bytes (magic numbers, never its name), and what is taken off it before
it is kept: image metadata (EXIF with GPS, XMP, IPTC, comments). Thumbnails for images.

Stripping is lossless where it can be: JPEG metadata segments (APP1 EXIF/XMP, APP13 IPTC, COM)
and PNG text/EXIF chunks are cut out, the pixels untouched, so a photo without metadata is kept
byte for byte. Only a JPEG whose EXIF turns it (Orientation ≠ 1) is re-encoded upright, since
the turn goes with the metadata.
"""

from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass

import filetype
from PIL import Image, ImageOps

# The types a county keeps (the policy's default `allowed_types`), by the MIME type detected.
JPEG, PNG, PDF = "image/jpeg", "image/png", "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DOC = "application/msword"
KNOWN_TYPES: dict[str, str] = {
    JPEG: "jpg",
    PNG: "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/heic": "heic",
    PDF: "pdf",
    DOCX: "docx",
    DOC: "doc",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.ms-excel": "xls",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/amr": "amr",
    "audio/x-wav": "wav",
    "audio/aac": "aac",
    "audio/ogg": "ogg",
    "video/mp4": "mp4",
}
# Images whose metadata is stripped on upload and which get a thumbnail.
IMAGES = frozenset({JPEG, PNG, "image/webp", "image/gif"})
THUMBNAIL_EDGE = 320


def detect(head: bytes) -> str | None:
    """The MIME type the content's first bytes say (None: unknown)."""
    kind = filetype.guess(head)
    if kind is None:
        return None
    mime = str(kind.mime)
    if mime == "application/zip" or mime == "application/epub+zip":
        return None
    return mime


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def detect_all(data: bytes) -> str | None:
    """The type of the whole content: the magic numbers, and for a ZIP whether it is a Word
    document (a .docx some tools write without the marker `filetype` looks for)."""
    mime = detect(data[:8192])
    if mime is None and data[:4] == b"PK\x03\x04" and _is_docx(data):
        return DOCX
    return mime


# --- metadata ---------------------------------------------------------------------------

_JPEG_DROP = {0xE1, 0xED, 0xFE}  # APP1 (EXIF, XMP), APP13 (IPTC/Photoshop), COM
_PNG_DROP = {b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"tIME"}


def _jpeg_orientation(data: bytes) -> int:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return int(image.getexif().get(0x0112, 1))
    except Exception:
        return 1


def _strip_jpeg(data: bytes) -> bytes:
    if _jpeg_orientation(data) not in (0, 1):
        with Image.open(io.BytesIO(data)) as image:
            upright = ImageOps.exif_transpose(image)
            out = io.BytesIO()
            upright.save(out, "JPEG", quality=92, icc_profile=image.info.get("icc_profile"))
            data = out.getvalue()
    out_parts = [data[:2]]
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            break
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xDA:  # start of scan: the rest is image data
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out_parts.append(data[i : i + 2])
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        segment = data[i : i + 2 + length]
        if marker not in _JPEG_DROP:
            out_parts.append(segment)
        i += 2 + length
    out_parts.append(data[i:])
    return b"".join(out_parts)


def _strip_png(data: bytes) -> bytes:
    out = [data[:8]]
    i = 8
    while i + 12 <= len(data):
        (length,) = struct.unpack(">I", data[i : i + 4])
        kind = data[i + 4 : i + 8]
        chunk = data[i : i + 12 + length]
        if kind not in _PNG_DROP:
            out.append(chunk)
        i += 12 + length
        if kind == b"IEND":
            break
    return b"".join(out)


def _reencode(data: bytes, fmt: str) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        upright = ImageOps.exif_transpose(image)
        out = io.BytesIO()
        kwargs = {"save_all": True} if getattr(image, "n_frames", 1) > 1 else {}
        upright.save(out, fmt, **kwargs)
        return out.getvalue()


def strip_metadata(data: bytes, mime: str) -> bytes:
    """The image without its metadata (EXIF, GPS included); other types unchanged."""
    if mime == JPEG:
        return _strip_jpeg(data)
    if mime == PNG:
        return _strip_png(data)
    if mime == "image/webp":
        return _reencode(data, "WEBP") if b"EXIF" in data[:4096] or b"XMP " in data else data
    return data


@dataclass(frozen=True)
class Thumbnail:
    """A small JPEG of an image, for lists and the app."""

    data: bytes
    width: int
    height: int


def thumbnail(data: bytes) -> Thumbnail | None:
    """A JPEG at most `THUMBNAIL_EDGE` pixels on its long side; None when the image does not
    decode."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE))
            rgb = image.convert("RGB")
            out = io.BytesIO()
            rgb.save(out, "JPEG", quality=80)
            return Thumbnail(out.getvalue(), rgb.width, rgb.height)
    except Exception:
        return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """The image's width and height (None when it does not decode)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return int(image.width), int(image.height)
    except Exception:
        return None
