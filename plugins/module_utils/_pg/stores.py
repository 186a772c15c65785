"""Backup stores: `file://` directories and `s3://` buckets behind one small interface.

A store holds opaque objects under keys relative to its root. Writers stream: the file store writes a
temporary file and renames it into place on commit; the S3 store runs a multipart upload and
completes it on commit. Either way an aborted backup leaves nothing under its key.
"""

import json
import os
import tempfile
import traceback
from urllib.parse import unquote, urlparse

from .errors import ConfigError, StoreError

BOTO_IMPORT_ERROR = None
try:
    import boto3
    import botocore.config
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    BOTO_IMPORT_ERROR = traceback.format_exc()

    class BotoCoreError(Exception):
        """Never raised: botocore is missing and the S3 store refuses to start (BOTO_IMPORT_ERROR)."""

    class ClientError(Exception):
        """Never raised, as BotoCoreError."""

CHUNK = 1024 * 1024
# S3 parts must be at least 5 MiB except the last; larger parts mean fewer requests.
DEFAULT_PART_SIZE = 16 * 1024 * 1024


def open_store(url, params=None, part_size=DEFAULT_PART_SIZE):
    params = params or {}
    parsed = urlparse(url)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise ConfigError(f"store {url}: file URLs name a local path (file:///path)")
        return FileStore(unquote(parsed.path))
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ConfigError(f"store {url}: an s3 URL needs a bucket (s3://bucket/prefix)")
        return S3Store(parsed.netloc, parsed.path.strip("/"), params, part_size)
    raise ConfigError(f"store {url}: only file:// and s3:// stores are supported")


class FileStore:
    def __init__(self, root):
        if not root or not os.path.isabs(root):
            raise ConfigError(f"file store path {root!r} must be absolute")
        self.root = os.path.normpath(root)

    @property
    def url(self):
        return f"file://{self.root}"

    def location(self, key):
        return f"file://{self._path(key)}"

    def _path(self, key):
        return os.path.join(self.root, *key.split("/"))

    def _ensure_dir(self, path):
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create backup directory {os.path.dirname(path)}: {exc.strerror}") from None

    def writer(self, key, metadata=None):
        return _FileWriter(self, key)

    def reader(self, key, chunk=CHUNK):
        path = self._path(key)
        try:
            handle = open(path, "rb")
        except FileNotFoundError:
            raise StoreError(f"backup object {self.location(key)} does not exist") from None
        except OSError as exc:
            raise StoreError(f"cannot read {self.location(key)}: {exc.strerror}") from None
        with handle:
            while True:
                block = handle.read(chunk)
                if not block:
                    return
                yield block

    def size(self, key):
        try:
            return os.path.getsize(self._path(key))
        except FileNotFoundError:
            return None

    def exists(self, key):
        return os.path.exists(self._path(key))

    def get_json(self, key):
        try:
            with open(self._path(key), encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            return None
        except ValueError:
            raise StoreError(f"{self.location(key)} is not valid JSON") from None
        except OSError as exc:
            raise StoreError(f"cannot read {self.location(key)}: {exc.strerror}") from None

    def put_json(self, key, document):
        data = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()
        writer = self.writer(key)
        writer.write(data)
        writer.commit()

    def keys(self, prefix=""):
        found = []
        base = self._path(prefix) if prefix else self.root
        if not os.path.isdir(base):
            return found
        for directory, _subdirs, files in os.walk(base):
            for name in files:
                if name.startswith(".tmp-"):
                    continue
                relative = os.path.relpath(os.path.join(directory, name), self.root)
                found.append(relative.replace(os.sep, "/"))
        return sorted(found)

    def delete(self, key):
        try:
            os.unlink(self._path(key))
        except FileNotFoundError:
            pass


class _FileWriter:
    def __init__(self, store, key):
        self.store = store
        self.key = key
        self.path = store._path(key)
        store._ensure_dir(self.path)
        fd, self.tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(self.path))
        os.fchmod(fd, 0o600)
        self.handle = os.fdopen(fd, "wb")

    def write(self, data):
        try:
            self.handle.write(data)
        except OSError as exc:
            self.abort()
            raise StoreError(f"cannot write {self.store.location(self.key)}: {exc.strerror}") from None

    def commit(self):
        try:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
            os.replace(self.tmp, self.path)
        except OSError as exc:
            self.abort()
            raise StoreError(f"cannot write {self.store.location(self.key)}: {exc.strerror}") from None

    def abort(self):
        if not self.handle.closed:
            self.handle.close()
        if os.path.exists(self.tmp):
            os.unlink(self.tmp)


class S3Store:
    def __init__(self, bucket, prefix, params, part_size=DEFAULT_PART_SIZE):
        if BOTO_IMPORT_ERROR:
            raise ConfigError("s3:// stores need boto3 on the module's Python")
        self.bucket = bucket
        self.prefix = prefix
        self.part_size = max(part_size, 5 * 1024 * 1024)
        self.sse = params.get("s3_server_side_encryption")
        self.kms_key_id = params.get("s3_kms_key_id")
        session = boto3.session.Session(
            profile_name=params.get("aws_profile") or None,
            aws_access_key_id=params.get("aws_access_key_id") or None,
            aws_secret_access_key=params.get("aws_secret_access_key") or None,
            region_name=params.get("aws_region") or None,
        )
        self.client = session.client(
            "s3", endpoint_url=params.get("s3_endpoint_url") or None,
            config=botocore.config.Config(retries={"max_attempts": 5, "mode": "standard"}),
        )

    @property
    def url(self):
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def _key(self, key):
        return f"{self.prefix}/{key}" if self.prefix else key

    def location(self, key):
        return f"s3://{self.bucket}/{self._key(key)}"

    def _fail(self, action, key, exc):
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "error")
            reason = f"{code}: {exc.response.get('Error', {}).get('Message', '')}".rstrip(": ")
        else:
            reason = type(exc).__name__
        return StoreError(f"failed to {action} {self.location(key) if key else self.url}: {reason}")

    def _sse_args(self):
        extra = {}
        if self.sse:
            extra["ServerSideEncryption"] = self.sse
            if self.sse == "aws:kms" and self.kms_key_id:
                extra["SSEKMSKeyId"] = self.kms_key_id
        return extra

    def writer(self, key, metadata=None):
        return _S3Writer(self, key, metadata or {})

    def reader(self, key, chunk=CHUNK):
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise StoreError(f"backup object {self.location(key)} does not exist") from None
            raise self._fail("read", key, exc) from None
        except BotoCoreError as exc:
            raise self._fail("read", key, exc) from None
        try:
            yield from body.iter_chunks(chunk)
        except (BotoCoreError, ClientError) as exc:
            raise self._fail("read", key, exc) from None
        finally:
            body.close()

    def size(self, key):
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._key(key))["ContentLength"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise self._fail("inspect", key, exc) from None
        except BotoCoreError as exc:
            raise self._fail("inspect", key, exc) from None

    def exists(self, key):
        return self.size(key) is not None

    def get_json(self, key):
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise self._fail("read", key, exc) from None
        except BotoCoreError as exc:
            raise self._fail("read", key, exc) from None
        try:
            return json.loads(body)
        except ValueError:
            raise StoreError(f"{self.location(key)} is not valid JSON") from None

    def put_json(self, key, document):
        data = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data,
                                   ContentType="application/json", **self._sse_args())
        except (BotoCoreError, ClientError) as exc:
            raise self._fail("write", key, exc) from None

    def keys(self, prefix=""):
        full = self._key(prefix) if prefix else (f"{self.prefix}/" if self.prefix else "")
        found = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full):
                for item in page.get("Contents", []):
                    key = item["Key"]
                    found.append(key[len(self.prefix) + 1:] if self.prefix else key)
        except (BotoCoreError, ClientError) as exc:
            raise self._fail("list", None, exc) from None
        return sorted(found)

    def delete(self, key):
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise self._fail("delete", key, exc) from None


class _S3Writer:
    def __init__(self, store, key, metadata):
        self.store = store
        self.key = key
        self.full_key = store._key(key)
        self.buffer = bytearray()
        self.parts = []
        try:
            created = store.client.create_multipart_upload(
                Bucket=store.bucket, Key=self.full_key, ContentType="application/gzip",
                Metadata={k: str(v) for k, v in metadata.items()}, **store._sse_args())
        except (BotoCoreError, ClientError) as exc:
            raise store._fail("start the upload of", key, exc) from None
        self.upload_id = created["UploadId"]

    def _send(self, data):
        number = len(self.parts) + 1
        try:
            answer = self.store.client.upload_part(Bucket=self.store.bucket, Key=self.full_key,
                                                   UploadId=self.upload_id, PartNumber=number, Body=bytes(data))
        except (BotoCoreError, ClientError) as exc:
            self.abort()
            raise self.store._fail(f"upload part {number} of", self.key, exc) from None
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def write(self, data):
        self.buffer.extend(data)
        while len(self.buffer) >= self.store.part_size:
            self._send(self.buffer[: self.store.part_size])
            del self.buffer[: self.store.part_size]

    def commit(self):
        if self.buffer or not self.parts:
            self._send(self.buffer)
            self.buffer = bytearray()
        try:
            self.store.client.complete_multipart_upload(
                Bucket=self.store.bucket, Key=self.full_key, UploadId=self.upload_id,
                MultipartUpload={"Parts": self.parts})
        except (BotoCoreError, ClientError) as exc:
            self.abort()
            raise self.store._fail("complete the upload of", self.key, exc) from None

    def abort(self):
        if self.upload_id:
            try:
                self.store.client.abort_multipart_upload(Bucket=self.store.bucket, Key=self.full_key,
                                                         UploadId=self.upload_id)
            except (BotoCoreError, ClientError):
                pass
            self.upload_id = None
