"""The S3 backend of materials against a local server that speaks S3 (moto's, a stand-in for
Alibaba OSS, Tencent COS, MinIO or Ceph, as the SMS fakes stand in for the gateways)."""

from __future__ import annotations

import contextlib
import hashlib
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from unittest import mock

import httpx
import pytest
from moto.server import ThreadedMotoServer

from api.materials.storage import S3Config, S3Store, store_from_settings
from shared.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    # moto needs no real keys; fake ones keep botocore from looking for any on the machine
    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    with mock.patch.dict("os.environ", env):
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.stop()


@pytest.fixture
async def store(s3_endpoint: str, tmp_path: Path) -> AsyncIterator[S3Store]:
    config = S3Config(
        bucket="materials",
        endpoint_url=s3_endpoint,
        access_key_id="test",
        secret_access_key="test",
        prefix="county/",
    )
    s3 = S3Store(config, tmp_path)
    client = await s3._s3()
    with contextlib.suppress(Exception):  # made by an earlier test of the module
        await client.create_bucket(Bucket="materials")
    yield s3
    await s3.aclose()


async def test_blobs_go_in_by_hash_once_and_come_back(store: S3Store) -> None:
    data = b"%PDF-1.4\n" + bytes(range(256)) * 40
    blob = await store.put(data)
    assert blob.sha256 == hashlib.sha256(data).hexdigest() and blob.size == len(data)
    assert await store.exists(blob.sha256)
    assert await store.read(blob.sha256) == data
    assert await store.put(data) == blob  # the second put finds it there

    async def chunks() -> AsyncIterator[bytes]:
        yield data[:100]
        yield data[100:]

    assert await store.put(chunks()) == blob
    listed = await (await store._s3()).list_objects_v2(Bucket="materials", Prefix="county/")
    assert [o["Key"] for o in listed["Contents"]] == [f"county/blobs/{blob.sha256}"]
    with pytest.raises(KeyError):
        await store.read("0" * 64)
    assert not await store.exists("1" * 64)


async def test_a_signed_link_downloads_with_the_chinese_name(store: S3Store) -> None:
    data = b"\xff\xd8\xff\xe0 a photo"
    blob = await store.put(data)
    url = await store.url(
        blob.sha256, filename="现场照片.jpg", content_type="image/jpeg", expires_seconds=60
    )
    assert url is not None and "X-Amz-Signature" in url
    async with httpx.AsyncClient() as http:
        got = await http.get(url)
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == "image/jpeg"
    assert (
        "filename*=UTF-8''%E7%8E%B0%E5%9C%BA%E7%85%A7%E7%89%87.jpg"
        in got.headers["content-disposition"]
    )


def test_the_settings_choose_the_backend(tmp_path: Path) -> None:
    local = store_from_settings(Settings(materials_dir=str(tmp_path)))
    assert type(local).__name__ == "LocalStore"
    s3 = store_from_settings(
        Settings(
            materials_backend="s3",
            materials_s3_bucket="b",
            materials_s3_endpoint_url="http://127.0.0.1:9000",
        )
    )
    assert isinstance(s3, S3Store) and s3.config.bucket == "b"
