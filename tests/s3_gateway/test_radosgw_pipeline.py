"""The pipeline against a real S3 gateway (Ceph radosgw, see conftest.py): the sandbox's Fake Store products
and carts are extracted into a lake on radosgw, read back from it into bronze, and run again for the same
interval. Expected figures come from what the sandbox serves, never from what was loaded."""

from __future__ import annotations

import gzip
import os
from datetime import UTC, datetime

import orjson
import pytest
import requests

from python_scripts.ingest.extract import extract_to_lake
from python_scripts.ingest.lake import batch_id_for, iter_lines, lake_from_url, open_lines_reader, open_lines_writer
from python_scripts.ingest.load import LakeObjectError, load_from_lake
from python_scripts.ops.replay import replay_from_lake

pytestmark = [pytest.mark.s3_gateway, pytest.mark.timeout(300)]

START, END = datetime(2025, 1, 10, tzinfo=UTC), datetime(2025, 1, 11, tzinfo=UTC)
BATCH = batch_id_for(START, END)
ENTITIES = ("products", "carts")
LINES = 300_000


def served(fakestore_url: str) -> dict[str, list[dict]]:
    """What the sandbox serves for the interval's first load, asked directly: every product and, the carts'
    extraction state being empty, every cart."""
    params: dict[str, dict] = {"products": {}, "carts": {}}
    records = {}
    for entity in ENTITIES:
        response = requests.get(f"{fakestore_url}/{entity}", params=params[entity], timeout=30)
        response.raise_for_status()
        records[entity] = response.json()
    return records


def read_object(client, bucket: str, key: str) -> list[bytes]:
    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    if key.endswith(".gz"):
        body = gzip.decompress(body)
    return body.splitlines()


def lake_objects(client, bucket: str) -> dict[str, str]:
    """Every object of the bucket: key → ETag."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {obj["Key"]: obj["ETag"] for page in pages for obj in page.get("Contents", [])}


def bronze_state(warehouse, entity: str) -> tuple:
    return warehouse.execute(
        f"SELECT count(*), count(DISTINCT batch_id), min(lake_uri), "  # noqa: S608 - a fixed table name
        f"md5(string_agg(record_no || record_hash, '|' ORDER BY record_no)) FROM bronze.fakestore_{entity}"
    ).fetchone()


def run_interval(settings) -> dict[str, dict]:
    return {
        entity: load_from_lake(extract_to_lake("fakestore", entity, START, END, settings=settings), settings=settings)
        for entity in ENTITIES
    }


def test_pipeline_lands_in_radosgw_and_loads_bronze(radosgw, lake_bucket, fakestore_url, settings, warehouse):
    assert settings.lake_url == f"s3://{lake_bucket}/lake"
    assert settings.s3_endpoint_url == radosgw.endpoint
    s3 = radosgw.client()
    s3.create_bucket(Bucket=lake_bucket)
    expected = served(fakestore_url)
    assert len(expected["products"]) > 0
    assert len(expected["carts"]) > 0

    results = run_interval(settings)

    # The lake: one raw and one rejected object per entity, under deterministic keys, in radosgw itself.
    keys = {
        f"lake/{area}/fakestore/{entity}/2025/01/10/{BATCH}.json.gz": (area, entity)
        for area in ("raw", "rejected")
        for entity in ENTITIES
    }
    manifests = [f"lake/manifests/fakestore/{entity}/2025/01/10/{BATCH}.json" for entity in ENTITIES]
    objects = lake_objects(s3, lake_bucket)
    assert sorted(objects) == sorted([*keys, *manifests])
    for key, (area, entity) in keys.items():
        lines = read_object(s3, lake_bucket, key)
        envelope = orjson.loads(lines[0])["envelope"]
        assert (envelope["source"], envelope["entity"], envelope["batch_id"]) == ("fakestore", entity, BATCH)
        if area == "raw":
            assert [orjson.loads(line) for line in lines[1:]] == expected[entity]
            assert results[entity]["raw_uri"] == f"s3://{lake_bucket}/{key}"
        else:
            assert lines[1:] == []

    # Bronze holds exactly what the sandbox served, pointing at the objects in radosgw.
    first = {}
    for entity in ENTITIES:
        count, batches, lake_uri, _digest = first[entity] = bronze_state(warehouse, entity)
        assert (count, batches) == (len(expected[entity]), 1)
        assert lake_uri == f"s3://{lake_bucket}/lake/raw/fakestore/{entity}/2025/01/10/{BATCH}.json.gz"
        assert results[entity]["loaded"] == len(expected[entity])
        ids = warehouse.execute(
            f"SELECT (payload->>'id')::int FROM bronze.fakestore_{entity} ORDER BY record_no"  # noqa: S608
        ).fetchall()
        assert [row[0] for row in ids] == [record["id"] for record in expected[entity]]

    audit = """
        SELECT entity, stage, status, extracted_count, rejected_count, loaded_count, lake_uri, error
        FROM audit.ingestion_runs ORDER BY run_id
    """
    runs = warehouse.execute(audit).fetchall()
    assert [(entity, stage, status) for entity, stage, status, *_ in runs] == [
        (entity, stage, "success") for entity in ENTITIES for stage in ("extract", "load")
    ]
    for entity, stage, _, extracted, rejected, loaded, lake_uri, error in runs:
        assert (extracted, rejected, error) == (len(expected[entity]), 0, None)
        assert loaded == (len(expected[entity]) if stage == "load" else None)
        assert lake_uri == results[entity]["raw_uri"]
    assert warehouse.execute("SELECT count(*) FROM audit.rejected_records").fetchone() == (0,)

    # A rerun of the interval overwrites the same objects and replaces the same batches: nothing grows.
    run_interval(settings)
    assert sorted(lake_objects(s3, lake_bucket)) == sorted([*keys, *manifests])
    for entity in ENTITIES:
        assert bronze_state(warehouse, entity) == first[entity]
    statuses = warehouse.execute("SELECT stage, status, count(*) FROM audit.ingestion_runs GROUP BY 1, 2").fetchall()
    assert sorted(statuses) == [("extract", "success", 4), ("load", "success", 4)]


def test_a_replay_from_radosgw_reloads_bronze_and_names_a_missing_object(radosgw, lake_bucket, settings, warehouse):
    radosgw.client().create_bucket(Bucket=lake_bucket)
    run_interval(settings)
    loaded = {entity: bronze_state(warehouse, entity) for entity in ENTITIES}
    warehouse.execute("TRUNCATE bronze.fakestore_products, bronze.fakestore_carts")
    replay_from_lake("fakestore", list(ENTITIES), START, END, settings=settings, transform=False)
    assert {entity: bronze_state(warehouse, entity) for entity in ENTITIES} == loaded

    key = f"lake/raw/fakestore/carts/2025/01/10/{BATCH}.json.gz"
    radosgw.client().delete_object(Bucket=lake_bucket, Key=key)
    with pytest.raises(LakeObjectError, match=rf"lake object s3://{lake_bucket}/{key} is missing"):
        replay_from_lake("fakestore", ["carts"], START, END, settings=settings, transform=False)
    assert bronze_state(warehouse, "carts") == loaded["carts"]


def test_lake_operations_on_radosgw(radosgw, lake_bucket, settings):
    """The S3 lake's own operations on radosgw: multipart-sized write, streamed read, exists, delete."""
    s3 = radosgw.client()
    s3.create_bucket(Bucket=lake_bucket)
    lake = lake_from_url(settings.lake_url, settings.s3_endpoint_url)
    key = "raw/fakestore/carts/2025/01/10/big.json.gz"
    assert not lake.exists(key)
    with open_lines_writer(lake, key) as out:  # random text, over 8 MiB compressed: a multipart upload
        out.writelines(orjson.dumps({"n": n, "pad": os.urandom(32).hex()}) + b"\n" for n in range(LINES))
    assert lake.exists(key)
    assert s3.head_object(Bucket=lake_bucket, Key=f"lake/{key}")["ContentLength"] > 8 * 1024 * 1024
    with open_lines_reader(lake, key) as stream:
        count = sum(1 for _ in iter_lines(stream))
    assert count == LINES
    lake.delete(key)
    assert not lake.exists(key)
