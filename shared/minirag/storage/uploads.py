"""`UploadStorage`: presign an upload, read it back in the ingest worker, delete it with its source."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from minirag.errors import InvalidInput, PermanentIngestError, UpstreamUnavailable
from minirag.observability import logger
from minirag.settings import Settings, get_settings

LOCAL_UPLOAD_PATH = "/_local/uploads/"


@dataclass
class PresignedUpload:
    method: str
    url: str
    headers: dict[str, str]
    expires_at: datetime
    max_bytes: int


class UploadStorage(Protocol):
    def presign_put(self, key: str, content_type: str) -> PresignedUpload: ...
    def size(self, key: str) -> int | None: ...
    def read(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store a file sent in the request itself (a direct upload), where a presigned PUT would."""
        ...
    def check(self) -> None:
        """The health check's probe: raises when uploads cannot be stored."""
        ...


def object_key(tenant_id: object, source_id: object, filename: str) -> str:
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)[:200] or "upload"
    return f"tenants/{tenant_id}/sources/{source_id}/{safe}"


class LocalUploadStorage:
    """Files under data_dir/uploads. The PUT URL carries an HMAC over (key, expiry, max bytes)
    signed with the JWT secret; the local runner verifies it before writing."""

    def __init__(self, root: Path, secret: str, base_url: str, ttl_seconds: int, max_bytes: int) -> None:
        self._root = root
        self._secret = secret.encode()
        self._base_url = base_url.rstrip("/")
        self._ttl = ttl_seconds
        self._max_bytes = max_bytes

    def _path(self, key: str) -> Path:
        path = (self._root / key).resolve()
        if self._root.resolve() not in path.parents:
            raise InvalidInput("filename", "invalid upload key")
        return path

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self._secret, payload, hashlib.sha256).hexdigest()

    def presign_put(self, key: str, content_type: str) -> PresignedUpload:
        expires = int(time.time()) + self._ttl
        payload = json.dumps({"k": key, "e": expires, "m": self._max_bytes}, separators=(",", ":")).encode()
        token = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        url = f"{self._base_url}{LOCAL_UPLOAD_PATH}{token}.{self._sign(payload)}"
        return PresignedUpload("PUT", url, {"Content-Type": content_type},
                               datetime.fromtimestamp(expires, timezone.utc), self._max_bytes)

    def verify_token(self, token: str) -> tuple[str, int]:
        """(key, max_bytes) for a valid unexpired upload token, else ValueError."""
        encoded, _, signature = token.rpartition(".")
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        if not hmac.compare_digest(self._sign(payload), signature):
            raise ValueError("bad signature")
        data = json.loads(payload)
        if int(data["e"]) < time.time():
            raise ValueError("upload URL expired")
        return str(data["k"]), int(data["m"])

    def write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.write(key, data)

    def size(self, key: str) -> int | None:
        path = self._path(key)
        return path.stat().st_size if path.exists() else None

    def read(self, key: str) -> bytes:
        path = self._path(key)
        if not path.exists():
            raise PermanentIngestError("the uploaded file is missing; upload it again, then ingest")
        return path.read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def check(self) -> None:
        """The uploads folder exists (made on first use, like `write`) and is writable."""
        self._root.mkdir(parents=True, exist_ok=True)
        if not os.access(self._root, os.W_OK | os.X_OK):
            raise UpstreamUnavailable("the uploads folder is not writable")


class S3UploadStorage:
    def __init__(self, bucket: str, ttl_seconds: int, max_bytes: int) -> None:
        import boto3
        from botocore.config import Config

        self._client = boto3.client("s3", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
        self._bucket = bucket
        self._ttl = ttl_seconds
        self._max_bytes = max_bytes

    def presign_put(self, key: str, content_type: str) -> PresignedUpload:
        try:
            url = self._client.generate_presigned_url(
                "put_object", Params={"Bucket": self._bucket, "Key": key, "ContentType": content_type},
                ExpiresIn=self._ttl,
            )
        except Exception as exc:
            raise UpstreamUnavailable("could not create an upload URL; try again") from exc
        expires_at = datetime.fromtimestamp(time.time() + self._ttl, timezone.utc)
        return PresignedUpload("PUT", url, {"Content-Type": content_type}, expires_at, self._max_bytes)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            self._client.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType=content_type)
        except Exception as exc:
            raise UpstreamUnavailable("upload storage is unavailable; try again") from exc

    def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            return int(self._client.head_object(Bucket=self._bucket, Key=key)["ContentLength"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise UpstreamUnavailable("upload storage is unavailable; try again") from exc
        except Exception as exc:
            raise UpstreamUnavailable("upload storage is unavailable; try again") from exc

    def read(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            return self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise PermanentIngestError("the uploaded file is missing; upload it again, then ingest") from exc
            raise UpstreamUnavailable("upload storage is unavailable") from exc
        except Exception as exc:
            raise UpstreamUnavailable("upload storage is unavailable") from exc

    def check(self) -> None:
        """HeadBucket: the bucket exists and this role may list it (one cheap request)."""
        self._client.head_bucket(Bucket=self._bucket)

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self._bucket, Key=key)
        except Exception:  # best effort: the object stays (the bucket's only lifecycle rule aborts
            # incomplete multipart uploads); the failure is logged so an operator can remove it
            logger.warning("could not delete an uploaded object", extra={"object_key": key}, exc_info=True)


def build_storage(settings: Settings) -> UploadStorage:
    if settings.storage_backend == "s3":
        return S3UploadStorage(settings.upload_bucket, settings.upload_url_ttl_seconds, settings.upload_max_bytes)
    return LocalUploadStorage(settings.data_dir / "uploads", settings.require_jwt_secret(),
                              settings.public_base_url, settings.upload_url_ttl_seconds, settings.upload_max_bytes)


@lru_cache(maxsize=1)
def get_storage() -> UploadStorage:
    return build_storage(get_settings())
