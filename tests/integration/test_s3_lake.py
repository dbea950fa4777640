"""The S3 lake backend against moto's server mode: a real S3 endpoint over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from moto.server import ThreadedMotoServer

from python_scripts.ingest.extract import extract_to_lake
from python_scripts.ingest.lake import S3Lake, iter_lines, lake_from_url, main, open_lines_reader, open_lines_writer
from python_scripts.ingest.load import LakeObjectError, load_from_lake
from python_scripts.ops.airflow_rest import free_port
from python_scripts.ops.replay import replay_from_lake
from python_scripts.settings import get_settings
from python_scripts.warehouse.checksum import table_checksum

BUCKET = "lake-test"


@pytest.fixture(scope="module")
def s3_endpoint():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_env(monkeypatch, s3_endpoint):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket=BUCKET)
    yield client
    for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=obj["Key"])
    client.delete_bucket(Bucket=BUCKET)


def test_url_selects_bucket_and_prefix(s3_env, s3_endpoint):
    lake = lake_from_url(f"s3://{BUCKET}/some/prefix", s3_endpoint)
    assert isinstance(lake, S3Lake)
    assert lake.uri("raw/x.json") == f"s3://{BUCKET}/some/prefix/raw/x.json"


def test_write_read_exists_delete(s3_env, s3_endpoint):
    lake = lake_from_url(f"s3://{BUCKET}/lake", s3_endpoint)
    key = "raw/fakestore/carts/2025/01/15/b.json.gz"
    assert not lake.exists(key)
    with open_lines_writer(lake, key) as out:
        out.writelines(b'{"n":%d}\n' % i for i in range(10_000))
    assert lake.exists(key)
    assert s3_env.head_object(Bucket=BUCKET, Key=f"lake/{key}")["ContentLength"] > 0
    with open_lines_reader(lake, key) as stream:
        lines = list(iter_lines(stream))
    assert lines[0] == b'{"n":0}'
    assert len(lines) == 10_000
    lake.delete(key)
    assert not lake.exists(key)


def test_overwrite_is_atomic(s3_env, s3_endpoint):
    lake = lake_from_url(f"s3://{BUCKET}", s3_endpoint)
    key = "raw/x.json"
    with lake.writer(key) as out:
        out.write(b"first\n")

    def crash_midway():
        with lake.writer(key) as out:
            out.write(b"half of the second")
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        crash_midway()
    with lake.reader(key) as body:
        assert body.read() == b"first\n"
    with lake.writer(key) as out:
        out.write(b"second\n")
    with lake.reader(key) as body:
        assert body.read() == b"second\n"
    assert [o["Key"] for o in s3_env.list_objects_v2(Bucket=BUCKET)["Contents"]] == [key]


def test_pipeline_through_s3_and_rerun(s3_env, s3_endpoint, monkeypatch, warehouse, httpserver):
    monkeypatch.setenv("LAKE_URL", f"s3://{BUCKET}/lake")
    monkeypatch.setenv("S3_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("FAKESTORE_BASE_URL", httpserver.url_for("/").rstrip("/"))
    carts = [
        {"id": i, "userId": 1, "date": "2025-01-15T10:00:00.000Z", "products": [{"productId": 1, "quantity": i}]}
        for i in range(1, 6)
    ]
    httpserver.expect_request("/carts").respond_with_json(carts)
    start, end = datetime(2025, 1, 15, tzinfo=UTC), datetime(2025, 1, 16, tzinfo=UTC)
    for _ in range(2):
        result = load_from_lake(extract_to_lake("fakestore", "carts", start, end))
    assert result["raw_uri"] == (
        f"s3://{BUCKET}/lake/raw/fakestore/carts/2025/01/15/20250115T000000Z_20250116T000000Z.json.gz"
    )
    assert warehouse.execute("SELECT count(*), count(DISTINCT lake_uri) FROM bronze.fakestore_carts").fetchone() == (
        5,
        1,
    )
    keys = sorted(o["Key"] for o in s3_env.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert keys == [
        "lake/manifests/fakestore/carts/2025/01/15/20250115T000000Z_20250116T000000Z.json",
        "lake/raw/fakestore/carts/2025/01/15/20250115T000000Z_20250116T000000Z.json.gz",
        "lake/rejected/fakestore/carts/2025/01/15/20250115T000000Z_20250116T000000Z.json.gz",
    ]

    # Replay from the bucket into an emptied bronze, without a request; then a missing object is named.
    before = table_checksum(warehouse, "bronze.fakestore_carts", exclude={"loaded_at"})
    warehouse.execute("TRUNCATE bronze.fakestore_carts")
    httpserver.clear_log()
    replay_from_lake("fakestore", ["carts"], start, end, settings=get_settings(), transform=False)
    assert table_checksum(warehouse, "bronze.fakestore_carts", exclude={"loaded_at"}) == before
    assert httpserver.log == []
    s3_env.delete_object(Bucket=BUCKET, Key=keys[1])
    with pytest.raises(LakeObjectError, match=rf"lake object s3://{BUCKET}/{keys[1]} is missing"):
        replay_from_lake("fakestore", ["carts"], start, end, settings=get_settings(), transform=False)
    assert table_checksum(warehouse, "bronze.fakestore_carts", exclude={"loaded_at"}) == before


def test_ensure_bucket_creates_it_versioned_once_and_is_idempotent(monkeypatch, s3_endpoint):
    """What the Docker stack's lake-init runs: `python -m python_scripts.ingest.lake ensure-bucket`."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("LAKE_URL", "s3://provisioned-lake/lake")
    monkeypatch.setenv("S3_ENDPOINT_URL", s3_endpoint)
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    assert main(["ensure-bucket"]) == 0
    assert client.get_bucket_versioning(Bucket="provisioned-lake")["Status"] == "Enabled"
    client.put_object(Bucket="provisioned-lake", Key="lake/kept.json", Body=b"{}")
    lake = lake_from_url("s3://provisioned-lake/lake", s3_endpoint)
    assert lake.ensure_bucket() is False
    assert lake.exists("kept.json")
    monkeypatch.setenv("LAKE_URL", "data/lake")  # a local lake has no bucket to provision
    with pytest.raises(SystemExit):
        main(["ensure-bucket"])
