"""Upload storage, both backends behind one flow: a presigned PUT the client sends the file to, then
size/read for the ingest worker and delete for the purge. Local: the runner's signed endpoint
under DATA_DIR; S3: moto over HTTP."""

from __future__ import annotations

import httpx
import pytest

from minirag.errors import PermanentIngestError, UpstreamUnavailable
from minirag.storage.uploads import LOCAL_UPLOAD_PATH, LocalUploadStorage, S3UploadStorage, get_storage, object_key
from tests.integration.ingest.support import local_runner

KEY = object_key("tenant-1", "source-1", "hand book (v2).md")


def test_object_key_keeps_a_safe_file_name():
    # Given a file name with spaces and brackets / When the key is made / Then it is path-safe
    assert KEY == "tenants/tenant-1/sources/source-1/hand_book__v2_.md"
    assert object_key("t", "s", "../../etc/passwd").endswith("/.._.._etc_passwd")


def test_local_presigned_put_stores_file_for_the_worker(api):
    # Given the embedded default storage
    storage = get_storage()
    assert isinstance(storage, LocalUploadStorage)
    upload = storage.presign_put(KEY, "text/markdown")
    assert upload.url.startswith("http://127.0.0.1:8000" + LOCAL_UPLOAD_PATH)

    # When the client PUTs the file to the URL (the local runner's endpoint)
    response = local_runner(api).put(upload.url, content=b"# Hello", headers=upload.headers)

    # Then the worker can size and read it, and the purge deletes it
    assert response.status_code == 200
    assert (storage.size(KEY), storage.read(KEY)) == (7, b"# Hello")
    storage.delete(KEY)
    assert storage.size(KEY) is None
    with pytest.raises(PermanentIngestError, match="the uploaded file is missing"):
        storage.read(KEY)


def test_local_put_with_tampered_or_expired_url_returns_403(api, tmp_path):
    # Given a valid upload URL, a tampered copy, and an expired one
    storage = get_storage()
    upload = storage.presign_put(KEY, "text/plain")
    tampered = upload.url[:-1] + ("0" if upload.url[-1] != "0" else "1")
    expired_storage = LocalUploadStorage(tmp_path, "test-secret", "http://127.0.0.1:8000", ttl_seconds=-1,
                                         max_bytes=100)
    expired = expired_storage.presign_put(KEY, "text/plain")
    runner = local_runner(api)

    # When the client PUTs to them / Then the runner refuses both bad ones, and nothing is written
    assert runner.put(tampered, content=b"x").status_code == 403
    assert runner.put(expired.url, content=b"x").status_code == 403
    assert storage.size(KEY) is None


def test_local_put_over_the_size_limit_returns_413(api, monkeypatch):
    # Given uploads capped at 1 KiB
    from minirag.settings import get_settings

    monkeypatch.setenv("UPLOAD_MAX_BYTES", "1024")
    get_settings.cache_clear()
    get_storage.cache_clear()
    upload = get_storage().presign_put(KEY, "text/plain")

    # When a larger file is PUT / Then it is refused and not stored
    assert local_runner(api).put(upload.url, content=b"x" * 2048).status_code == 413
    assert get_storage().size(KEY) is None


def test_s3_presigned_put_stores_object_for_the_worker(moto_aws):
    # Given S3 storage (STORAGE_BACKEND=s3, moto over HTTP)
    storage = get_storage()
    assert isinstance(storage, S3UploadStorage)
    upload = storage.presign_put(KEY, "text/markdown")
    assert upload.url.startswith(f"{moto_aws.endpoint}/{moto_aws.bucket}/")

    # When the client PUTs the file to the presigned URL with the given headers
    response = httpx.put(upload.url, content=b"# Hello S3", headers=upload.headers)

    # Then the object is there for the worker, and the purge deletes it
    assert response.status_code == 200
    assert (storage.size(KEY), storage.read(KEY)) == (10, b"# Hello S3")
    assert moto_aws.s3().head_object(Bucket=moto_aws.bucket, Key=KEY)["ContentType"] == "text/markdown"
    storage.delete(KEY)
    assert storage.size(KEY) is None
    with pytest.raises(PermanentIngestError, match="the uploaded file is missing"):
        storage.read(KEY)


def test_s3_unreachable_raises_retryable_error(moto_aws, monkeypatch):
    # Given S3 storage pointed at a port where nothing listens
    import socket

    from minirag.settings import get_settings

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", dead)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    get_settings.cache_clear()
    get_storage.cache_clear()
    storage = get_storage()

    # When the worker reads or sizes an object / Then it gets a retryable error, not a crash
    with pytest.raises(UpstreamUnavailable) as read_error:
        storage.read(KEY)
    assert read_error.value.retryable
    with pytest.raises(UpstreamUnavailable):
        storage.size(KEY)
