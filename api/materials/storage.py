"""Where the bytes of materials live: content-addressed by SHA-256, behind one interface.

`BlobStore` is all a room needs (`put` → `Blob(sha256, size)`, `open`/`read` by hash, `url` for
a short-lived signed link where the backend has one). Two backends:

* `LocalStore` (the default, what `make run` and `make test` use): files under the data dir,
  `<root>/blobs/ab/cd/<sha256>`, each written to a temporary file in `<root>/tmp`, fsynced,
  renamed into place atomically and its directory fsynced, so a crash leaves either the whole
  blob or none; a blob that already exists is not written again.
* `S3Store`: any S3-compatible object store (Alibaba OSS, Tencent COS, MinIO, Ceph) through
  aiobotocore, objects keyed `<prefix>blobs/<sha256>`; signed GET links for downloads.

Bytes are never kept in a table row; rows keep the hash.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from api.kit.uow import Resource

CHUNK = 256 * 1024


@dataclass(frozen=True)
class Blob:
    """What a store keeps of one content: its hash and its length."""

    sha256: str
    size: int


Source = bytes | Path | AsyncIterable[bytes]
"""What `put` takes: the bytes, a file to copy, or a stream of chunks."""


def valid_hash(sha256: str) -> bool:
    """Whether `sha256` is a lowercase hex SHA-256 (what every key is built from)."""
    return len(sha256) == 64 and all(c in "0123456789abcdef" for c in sha256)


class BlobStore(Protocol):
    """Content-addressed storage of materials' bytes."""

    # Where this process keeps bytes on their way in (a resumable upload's parts) on its own
    # disk, whatever the backend.
    spool: Path

    async def put(self, source: Source) -> Blob:
        """Store the content once (by its SHA-256) and say its hash and size."""
        ...

    def open(self, sha256: str) -> AsyncIterator[bytes]:
        """The content in chunks (KeyError when absent)."""
        ...

    async def read(self, sha256: str) -> bytes:
        """The whole content (KeyError when absent)."""
        ...

    async def exists(self, sha256: str) -> bool:
        """Whether the content is stored."""
        ...

    async def url(
        self, sha256: str, *, filename: str, content_type: str, expires_seconds: int
    ) -> str | None:
        """A short-lived signed link to download the content directly from the store, or None
        when the backend has none (then the API streams it)."""
        ...

    async def aclose(self) -> None:
        """Release the backend's connections."""
        ...


MATERIAL_STORE: Resource[BlobStore] = Resource("material store")
"""The store every session of the app keeps materials' bytes in."""


# --- the local filesystem --------------------------------------------------------------


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStore:
    """Blobs on the local filesystem under `root` (the data dir: `.data/materials`)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.spool = self.root / "tmp"

    def path(self, sha256: str) -> Path:
        """Where the blob of `sha256` lives."""
        if not valid_hash(sha256):
            raise KeyError(sha256)
        return self.root / "blobs" / sha256[:2] / sha256[2:4] / sha256

    def _temp(self) -> tuple[int, Path]:
        tmp = self.root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=tmp, prefix="put-")
        return fd, Path(name)

    def _commit(self, temp: Path, digest: str) -> None:
        final = self.path(digest)
        if final.exists():
            temp.unlink(missing_ok=True)
            return
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, final)  # atomic on one filesystem
        _fsync_dir(final.parent)

    def _put_bytes(self, data: bytes) -> Blob:
        digest = hashlib.sha256(data).hexdigest()
        if self.path(digest).exists():
            return Blob(digest, len(data))
        fd, temp = self._temp()
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            self._commit(temp, digest)
        finally:
            temp.unlink(missing_ok=True)
        return Blob(digest, len(data))

    def _put_file(self, source: Path) -> Blob:
        fd, temp = self._temp()
        hasher, size = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                while chunk := src.read(CHUNK):
                    hasher.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = hasher.hexdigest()
            self._commit(temp, digest)
        finally:
            temp.unlink(missing_ok=True)
        return Blob(digest, size)

    async def put(self, source: Source) -> Blob:
        """Store the content under its SHA-256 (temp file, fsync, atomic rename)."""
        if isinstance(source, bytes):
            return await asyncio.to_thread(self._put_bytes, source)
        if isinstance(source, Path):
            return await asyncio.to_thread(self._put_file, source)
        fd, temp = self._temp()
        hasher, size = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in source:
                    hasher.update(chunk)
                    size += len(chunk)
                    await asyncio.to_thread(out.write, chunk)
                await asyncio.to_thread(out.flush)
                await asyncio.to_thread(os.fsync, out.fileno())
            digest = hasher.hexdigest()
            await asyncio.to_thread(self._commit, temp, digest)
        finally:
            temp.unlink(missing_ok=True)
        return Blob(digest, size)

    async def open(self, sha256: str) -> AsyncIterator[bytes]:
        """The blob in chunks of 256 KiB."""
        path = self.path(sha256)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError as exc:
            raise KeyError(sha256) from exc
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    async def read(self, sha256: str) -> bytes:
        """The whole blob."""
        try:
            return await asyncio.to_thread(self.path(sha256).read_bytes)
        except FileNotFoundError as exc:
            raise KeyError(sha256) from exc

    async def exists(self, sha256: str) -> bool:
        """Whether the blob is stored."""
        try:
            return await asyncio.to_thread(self.path(sha256).exists)
        except KeyError:
            return False

    async def url(
        self, sha256: str, *, filename: str, content_type: str, expires_seconds: int
    ) -> str | None:
        """None: the API streams local blobs itself."""
        return None

    async def aclose(self) -> None:
        """Nothing to release."""


# --- any S3-compatible store -----------------------------------------------------------


@dataclass(frozen=True)
class S3Config:
    """Where the S3 backend keeps blobs and how it signs in."""

    bucket: str
    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = None
    prefix: str = ""
    addressing_style: str = "path"  # MinIO, Ceph; "virtual" for OSS and COS


class S3Store:
    """Blobs in an S3-compatible bucket through aiobotocore (one client per store, opened on
    first use). The content is hashed first (spooled to a temporary file under `spool_dir`
    when streamed), then uploaded unless the object already exists."""

    def __init__(self, config: S3Config, spool_dir: Path | str) -> None:
        self.config = config
        self.spool = Path(spool_dir)
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: Any = None
        self._lock = asyncio.Lock()

    async def _s3(self) -> Any:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                from aiobotocore.config import AioConfig
                from aiobotocore.session import get_session

                stack = contextlib.AsyncExitStack()
                c = self.config
                self._client = await stack.enter_async_context(
                    get_session().create_client(
                        "s3",
                        region_name=c.region,
                        endpoint_url=c.endpoint_url or None,
                        aws_access_key_id=c.access_key_id or None,
                        aws_secret_access_key=c.secret_access_key or None,
                        config=AioConfig(
                            s3={"addressing_style": c.addressing_style},
                            signature_version="s3v4",
                            retries={"max_attempts": 3, "mode": "standard"},
                        ),
                    )
                )
                self._stack = stack
        return self._client

    def key(self, sha256: str) -> str:
        """The object key of a blob."""
        if not valid_hash(sha256):
            raise KeyError(sha256)
        return f"{self.config.prefix}blobs/{sha256}"

    async def exists(self, sha256: str) -> bool:
        """Whether the object is stored (HEAD)."""
        from botocore.exceptions import ClientError

        s3 = await self._s3()
        try:
            await s3.head_object(Bucket=self.config.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    async def put(self, source: Source) -> Blob:
        """Hash, then upload unless present."""
        if isinstance(source, bytes):
            blob = Blob(hashlib.sha256(source).hexdigest(), len(source))
            if not await self.exists(blob.sha256):
                s3 = await self._s3()
                await s3.put_object(
                    Bucket=self.config.bucket, Key=self.key(blob.sha256), Body=source
                )
            return blob
        if isinstance(source, Path):
            return await self._put_path(source)
        self.spool.mkdir(parents=True, exist_ok=True)
        spooled = self.spool / f"s3-{uuid.uuid4().hex}"
        try:
            with spooled.open("wb") as out:
                async for chunk in source:
                    await asyncio.to_thread(out.write, chunk)
            return await self._put_path(spooled)
        finally:
            spooled.unlink(missing_ok=True)

    async def _put_path(self, path: Path) -> Blob:
        def digest() -> Blob:
            hasher, size = hashlib.sha256(), 0
            with path.open("rb") as src:
                while chunk := src.read(CHUNK):
                    hasher.update(chunk)
                    size += len(chunk)
            return Blob(hasher.hexdigest(), size)

        blob = await asyncio.to_thread(digest)
        if not await self.exists(blob.sha256):
            s3 = await self._s3()
            with path.open("rb") as body:
                await s3.put_object(
                    Bucket=self.config.bucket,
                    Key=self.key(blob.sha256),
                    Body=body,
                    ContentLength=blob.size,
                )
        return blob

    async def open(self, sha256: str) -> AsyncIterator[bytes]:
        """The object in chunks (GET, streamed)."""
        from botocore.exceptions import ClientError

        s3 = await self._s3()
        try:
            answer = await s3.get_object(Bucket=self.config.bucket, Key=self.key(sha256))
        except ClientError as exc:
            raise KeyError(sha256) from exc
        async with answer["Body"] as body:
            while chunk := await body.read(CHUNK):
                yield chunk

    async def read(self, sha256: str) -> bytes:
        """The whole object."""
        return b"".join([chunk async for chunk in self.open(sha256)])

    async def url(
        self, sha256: str, *, filename: str, content_type: str, expires_seconds: int
    ) -> str | None:
        """A presigned GET that names the file (Content-Disposition) and its type."""
        from api.materials.disposition import content_disposition

        s3 = await self._s3()
        url: str = await s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.config.bucket,
                "Key": self.key(sha256),
                "ResponseContentDisposition": content_disposition(filename),
                "ResponseContentType": content_type,
            },
            ExpiresIn=expires_seconds,
        )
        return url

    async def aclose(self) -> None:
        """Close the client."""
        if self._stack is not None:
            await self._stack.aclose()
            self._stack, self._client = None, None


def store_from_settings(settings: Any) -> BlobStore:
    """The backend the settings choose (`MATERIALS_BACKEND`: local or s3)."""
    root = Path(settings.materials_dir)
    if settings.materials_backend == "s3":
        config = S3Config(
            bucket=settings.materials_s3_bucket,
            endpoint_url=settings.materials_s3_endpoint_url or None,
            region=settings.materials_s3_region,
            access_key_id=settings.materials_s3_access_key_id or None,
            secret_access_key=settings.materials_s3_secret_access_key or None,
            prefix=settings.materials_s3_prefix,
            addressing_style=settings.materials_s3_addressing_style,
        )
        return S3Store(config, root / "tmp")
    return LocalStore(root)
