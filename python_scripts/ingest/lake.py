"""The lake: raw and rejected objects under deterministic keys, on a local directory or S3.

Keys follow ``<area>/<source>/<entity>/YYYY/MM/DD/<batch_id>.json[.gz]``, dated by the data interval,
so a rerun of the same interval overwrites the same object. Beside them, ``manifests/…/<batch_id>.json``
holds the manifest of the extraction that wrote them (counts, keys, window), written last: a replay reads
it. Writes are atomic on both backends: a reader sees the previous object or the complete new one, never a
part.
"""

from __future__ import annotations

import gzip
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import urlsplit

RAW = "raw"
REJECTED = "rejected"
MANIFESTS = "manifests"
COMPRESSIONS = {"gzip": ".json.gz", "none": ".json"}
WRITE_BUFFER_SIZE = 1 << 20


def batch_id_for(interval_start: datetime, interval_end: datetime) -> str:
    """A batch id that is a pure function of the data interval (UTC)."""
    return f"{interval_start:%Y%m%dT%H%M%SZ}_{interval_end:%Y%m%dT%H%M%SZ}"


def object_key(
    area: str, source: str, entity: str, interval_start: datetime, batch_id: str, compression: str = "gzip"
) -> str:
    if compression not in COMPRESSIONS:
        raise ValueError(f"LAKE_COMPRESSION must be one of {sorted(COMPRESSIONS)}, got {compression!r}")
    return f"{area}/{source}/{entity}/{interval_start:%Y/%m/%d}/{batch_id}{COMPRESSIONS[compression]}"


def day_prefix(area: str, source: str, entity: str, day: datetime) -> str:
    """The key prefix of an entity's objects of one area whose data interval starts on ``day``."""
    return f"{area}/{source}/{entity}/{day:%Y/%m/%d}/"


def manifest_key(source: str, entity: str, interval_start: datetime, batch_id: str) -> str:
    return f"{day_prefix(MANIFESTS, source, entity, interval_start)}{batch_id}.json"


class Lake(Protocol):
    """The small interface both backends implement."""

    def uri(self, key: str) -> str: ...

    def writer(self, key: str) -> IO[bytes]:
        """A context manager yielding a binary file; the object appears atomically on a clean exit."""

    def reader(self, key: str) -> IO[bytes]:
        """A context manager yielding the object's bytes as a stream."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def keys(self, prefix: str) -> list[str]:
        """The keys of the complete objects under ``prefix``, sorted."""


class LocalLake:
    """A directory tree; atomic by writing a temporary file beside the target and renaming it."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError(f"lake key escapes the lake root: {key!r}")
        return path

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()

    @contextmanager
    def writer(self, key: str) -> Iterator[IO[bytes]]:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @contextmanager
    def reader(self, key: str) -> Iterator[IO[bytes]]:
        with self._path(key).open("rb") as handle:
            yield handle

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self, prefix: str) -> list[str]:
        folder = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        if not folder.is_dir():
            return []
        # A writer's temporary file (".<name>.<random>.part") is not an object yet.
        paths = (p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
        return sorted(p.relative_to(self.root).as_posix() for p in paths)


class S3Lake:
    """A bucket and prefix on S3 or any S3-compatible endpoint (SeaweedFS, Ceph, moto).

    The object is spooled to a local temporary file and uploaded on close; S3 makes an object visible
    only when its upload completes, so readers never see half of it.
    """

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None, client=None):
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        # A session of its own: credentials are read from the environment now, not from whatever boto3's
        # process-wide default session resolved first.
        self.client = client or boto3.session.Session().client("s3", endpoint_url=endpoint_url)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    @contextmanager
    def writer(self, key: str) -> Iterator[IO[bytes]]:
        with tempfile.TemporaryFile() as spool:
            yield spool
            spool.seek(0)
            self.client.upload_fileobj(spool, self.bucket, self._key(key))

    @contextmanager
    def reader(self, key: str) -> Iterator[IO[bytes]]:
        body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        try:
            yield body
        finally:
            body.close()

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def keys(self, prefix: str) -> list[str]:
        start = len(self._key(""))
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._key(prefix))
        return sorted(item["Key"][start:] for page in pages for item in page.get("Contents", []))

    def ensure_bucket(self, versioning: bool = True) -> bool:
        """Create the bucket if it is missing, with versioning on as Terraform sets it; True if it was created.

        Idempotent: an existing bucket (owned by these credentials) is left as it is but for versioning.
        """
        from botocore.exceptions import ClientError

        created = False
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in {"404", "NoSuchBucket", "NotFound"}:
                raise
            try:
                self.client.create_bucket(Bucket=self.bucket)
                created = True
            except ClientError as race:
                if race.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
                    raise
        if versioning:
            self.client.put_bucket_versioning(Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"})
        return created


def lake_from_url(url: str, endpoint_url: str | None = None) -> LocalLake | S3Lake:
    """``s3://bucket/prefix`` gives an S3Lake; a path or ``file://`` URL gives a LocalLake."""
    parts = urlsplit(url)
    if parts.scheme == "s3":
        return S3Lake(parts.netloc, parts.path, endpoint_url=endpoint_url)
    if parts.scheme == "file":
        return LocalLake(parts.path)
    if parts.scheme:
        raise ValueError(f"LAKE_URL must be a directory or an s3:// URL, got {url!r}")
    return LocalLake(url)


@contextmanager
def open_lines_writer(lake: Lake, key: str) -> Iterator[IO[bytes]]:
    """Write an object, gzip-compressed when its key ends in ``.gz`` (fast level, fixed mtime).

    The compressor gets 1 MiB blocks: a ``GzipFile.write`` per record (Python 3.11's is unbuffered) costs
    twice as much as the compression itself.
    """
    with lake.writer(key) as raw:
        if key.endswith(".gz"):
            with (
                gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as compressed,
                io.BufferedWriter(compressed, WRITE_BUFFER_SIZE) as buffered,
            ):
                yield buffered
        else:
            yield raw


@contextmanager
def open_lines_reader(lake: Lake, key: str) -> Iterator[IO[bytes]]:
    """Read an object line by line, decompressing by key suffix."""
    with lake.reader(key) as raw:
        if key.endswith(".gz"):
            with gzip.GzipFile(fileobj=raw, mode="rb") as plain:
                yield plain
        else:
            yield raw


def iter_lines(stream: IO[bytes], chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """Split a binary stream into lines (without the newline), reading large chunks: works on any
    file-like object, including S3 bodies that have no ``readline``."""
    tail = b""
    while chunk := stream.read(chunk_size):
        lines = (tail + chunk).split(b"\n")
        tail = lines.pop()
        yield from lines
    if tail:
        yield tail


def lake_problem(url: str) -> str | None:
    """Why the lake at ``url`` cannot be written, found before any task runs: a local directory that cannot be
    created or written to, or an S3 lake without credentials. None when nothing is wrong that can be seen
    without writing to S3."""
    if urlsplit(url).scheme == "s3":
        import boto3

        if boto3.session.Session().get_credentials() is None:
            return "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or an AWS profile)"
        return None
    lake = LocalLake(urlsplit(url).path if url.startswith("file://") else url)
    try:
        lake.root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=lake.root, prefix=".write-check-"):
            pass
    except OSError as exc:
        return f"cannot write to {lake.root}: {exc.strerror or exc}"
    return None


def main(argv: list[str] | None = None) -> int:
    """`python -m python_scripts.ingest.lake ensure-bucket`: create the bucket of an s3:// LAKE_URL (lake-init)."""
    import argparse

    from python_scripts.settings import load_or_exit

    parser = argparse.ArgumentParser(description="Provision the lake's bucket.")
    parser.add_argument("action", choices=("ensure-bucket",))
    parser.add_argument("--no-versioning", action="store_true", help="leave the bucket's versioning as it is")
    args = parser.parse_args(argv)
    settings = load_or_exit()
    lake = lake_from_url(settings.lake_url, settings.s3_endpoint_url)
    if not isinstance(lake, S3Lake):
        parser.error(f"LAKE_URL is not an s3:// URL: {settings.lake_url}")
    created = lake.ensure_bucket(versioning=not args.no_versioning)
    print(f"bucket {lake.bucket}: {'created' if created else 'already there'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
