"""Extract → land → load against real HTTP (pytest-httpserver) and the real PostgreSQL test warehouse."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import orjson
import pytest

from python_scripts.ingest.extract import extract_to_lake
from python_scripts.ingest.http import ExtractError
from python_scripts.ingest.lake import LocalLake, open_lines_reader, open_lines_writer
from python_scripts.ingest.load import ReconciliationError, load_from_lake
from python_scripts.ingest.validate import DuplicateKeys
from python_scripts.warehouse.db import WarehouseUnavailable

START = datetime(2025, 1, 15, tzinfo=UTC)
END = datetime(2025, 1, 16, tzinfo=UTC)

PRODUCTS = [
    {"id": 1, "title": "Backpack", "price": 109.95, "category": "men's clothing", "__v": 0},
    {"id": 2, "title": "Tab\there; DROP TABLE bronze.x; --", "price": 22.3, "category": "jewelery"},
    {"id": 3, "title": 'Ünïcødé ☂ \\ back\\slash "quoted"', "price": 7, "category": "electronics"},
    {"id": "four", "title": "bad id", "price": 1.0, "category": "electronics"},
    {"id": 5, "title": "negative", "price": -1, "category": "electronics"},
]


@pytest.fixture
def fakestore(httpserver, monkeypatch):
    monkeypatch.setenv("FAKESTORE_BASE_URL", httpserver.url_for("/").rstrip("/"))
    httpserver.expect_request("/products").respond_with_json(PRODUCTS)
    return httpserver


def ingest():
    manifest = extract_to_lake("fakestore", "products", START, END)
    return manifest, load_from_lake(manifest)


def bronze_rows(conn):
    return conn.execute(
        "SELECT batch_id, record_no, record_hash, payload FROM bronze.fakestore_products ORDER BY record_no"
    ).fetchall()


def test_load_keeps_valid_records_and_quarantines_the_rest(settings, warehouse, fakestore):
    manifest, result = ingest()
    assert (manifest["extracted"], manifest["valid"], manifest["rejected"]) == (5, 3, 2)
    assert result["loaded"] == 3

    rows = bronze_rows(warehouse)
    assert [row[1] for row in rows] == [1, 2, 3]
    assert [row[3] for row in rows] == PRODUCTS[:3]  # payloads exact, extra keys and hostile text included
    assert all(row[0] == "20250115T000000Z_20250116T000000Z" for row in rows)

    rejects = warehouse.execute(
        "SELECT record_no, path, reason, payload FROM audit.rejected_records ORDER BY record_no"
    ).fetchall()
    assert [(r[0], r[1]) for r in rejects] == [(4, "$.id"), (5, "$.price")]
    assert "is not of type 'integer'" in rejects[0][2]
    assert rejects[0][3] == PRODUCTS[3]

    audit_rows = warehouse.execute(
        "SELECT stage, status, extracted_count, valid_count, rejected_count, loaded_count, error "
        "FROM audit.ingestion_runs ORDER BY run_id"
    ).fetchall()
    assert audit_rows == [("extract", "success", 5, 3, 2, None, None), ("load", "success", 5, 3, 2, 3, None)]


def test_lake_objects_hold_everything_received_under_the_interval_key(settings, warehouse, fakestore, lake_dir):
    manifest, _ = ingest()
    assert manifest["raw_key"] == "raw/fakestore/products/2025/01/15/20250115T000000Z_20250116T000000Z.json.gz"
    lake = LocalLake(lake_dir)
    with open_lines_reader(lake, manifest["raw_key"]) as stream:
        lines = stream.read().splitlines()
    envelope = json.loads(lines[0])["envelope"]
    assert envelope["source"] == "fakestore"
    assert envelope["entity"] == "products"
    assert envelope["batch_id"] == manifest["batch_id"]
    assert envelope["request_urls"] == [fakestore.url_for("/products")]
    assert [json.loads(line) for line in lines[1:]] == PRODUCTS
    with open_lines_reader(lake, manifest["rejected_key"]) as stream:
        rejected = [json.loads(line) for line in stream.read().splitlines()[1:]]
    assert [r["record_no"] for r in rejected] == [4, 5]


def test_rerun_of_the_same_interval_leaves_exactly_one_copy(settings, warehouse, fakestore):
    ingest()
    first = bronze_rows(warehouse)
    ingest()
    assert bronze_rows(warehouse) == first
    assert warehouse.execute("SELECT count(*) FROM audit.rejected_records").fetchone()[0] == 2


def test_another_interval_is_another_batch(settings, warehouse, fakestore):
    ingest()
    extract_manifest = extract_to_lake("fakestore", "products", END, datetime(2025, 1, 17, tzinfo=UTC))
    load_from_lake(extract_manifest)
    counts = warehouse.execute(
        "SELECT batch_id, count(*) FROM bronze.fakestore_products GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert counts == [("20250115T000000Z_20250116T000000Z", 3), ("20250116T000000Z_20250117T000000Z", 3)]


def test_reconciliation_failure_rolls_back_and_is_audited(settings, warehouse, fakestore, lake_dir):
    manifest, _ = ingest()
    before = bronze_rows(warehouse)

    # Lose a record between landing and loading: the raw object no longer matches the extraction count.
    lake = LocalLake(lake_dir)
    with open_lines_reader(lake, manifest["raw_key"]) as stream:
        lines = stream.read().splitlines(keepends=True)
    with open_lines_writer(lake, manifest["raw_key"]) as out:
        out.writelines(lines[:-1])

    with pytest.raises(ReconciliationError, match="raw object holds 4 records but extraction counted 5"):
        load_from_lake(manifest)
    assert bronze_rows(warehouse) == before
    status, error = warehouse.execute(
        "SELECT status, error FROM audit.ingestion_runs WHERE stage = 'load' ORDER BY run_id DESC LIMIT 1"
    ).fetchone()
    assert status == "failed"
    assert "ReconciliationError" in error


def test_extraction_failure_lands_nothing_and_is_audited(settings, warehouse, httpserver, monkeypatch, lake_dir):
    monkeypatch.setenv("FAKESTORE_BASE_URL", httpserver.url_for("/").rstrip("/"))
    httpserver.expect_request("/products").respond_with_data("upstream down", status=503)
    with pytest.raises(ExtractError, match="status=503"):
        extract_to_lake("fakestore", "products", START, END)
    assert not list(lake_dir.rglob("*.json*"))
    status, error = warehouse.execute("SELECT status, error FROM audit.ingestion_runs").fetchone()
    assert status == "failed"
    assert "upstream down" in error


def test_records_with_nul_characters_are_quarantined_not_fatal(settings, warehouse, httpserver, monkeypatch):
    monkeypatch.setenv("FAKESTORE_BASE_URL", httpserver.url_for("/").rstrip("/"))
    body = orjson.dumps([PRODUCTS[0], {**PRODUCTS[1], "title": "nul\u0000inside"}])
    httpserver.expect_request("/products").respond_with_data(body, content_type="application/json")
    manifest, result = ingest()
    assert (result["loaded"], manifest["rejected"]) == (1, 1)
    payload, raw_text = warehouse.execute("SELECT payload, raw_text FROM audit.rejected_records").fetchone()
    assert payload is None
    assert "nul\\u0000inside" in raw_text


@pytest.mark.parametrize("chunk", [2, 1000])
def test_repeated_keys_are_quarantined_in_record_order_whatever_the_chunk(
    settings, warehouse, httpserver, monkeypatch, lake_dir, chunk
):
    """The duplicate-key check answers a chunk at a time: with chunks of two records the rejected object and the
    audit hold exactly what one chunk for the whole batch gives, in record order."""
    monkeypatch.setattr(DuplicateKeys, "CHUNK", chunk)
    monkeypatch.setenv("FAKESTORE_BASE_URL", httpserver.url_for("/").rstrip("/"))
    records = [PRODUCTS[0], PRODUCTS[1], PRODUCTS[0], PRODUCTS[3], PRODUCTS[2], PRODUCTS[1], PRODUCTS[0]]
    httpserver.expect_request("/products").respond_with_json(records)
    manifest, result = ingest()
    assert (result["loaded"], manifest["rejected"]) == (3, 4)
    rejected = warehouse.execute("SELECT record_no, reason FROM audit.rejected_records ORDER BY record_no").fetchall()
    assert rejected == [
        (3, "duplicate key id=1: first seen at record 1 of the batch"),
        (4, rejected[1][1]),
        (6, "duplicate key id=2: first seen at record 2 of the batch"),
        (7, "duplicate key id=1: first seen at record 1 of the batch"),
    ]
    assert "'four' is not of type 'integer'" in rejected[1][1]
    with open_lines_reader(LocalLake(lake_dir), manifest["rejected_key"]) as lines:
        numbers = [orjson.loads(line)["record_no"] for line in list(lines)[1:]]
    assert numbers == [3, 4, 6, 7]


def test_unreachable_database_is_a_clear_error(settings, fakestore, monkeypatch):
    monkeypatch.setenv("POSTGRES_URL", "postgresql://postgres:s3cret-pw@127.0.0.1:1/")  # pragma: allowlist secret
    with pytest.raises(WarehouseUnavailable, match=r"cannot connect to the warehouse postgres@127.0.0.1:1/") as info:
        extract_to_lake("fakestore", "products", START, END)
    assert "s3cret-pw" not in str(info.value)


def test_a_batch_that_grows_the_table_by_a_tenth_is_analyzed_at_once(settings, warehouse, fakestore):
    """The dbt run that follows a large load must not be planned on statistics from before it: the first batch
    (or one that adds a tenth of the rows or more) is analyzed by the load itself; a small one is left to
    autovacuum."""

    def reltuples() -> float:
        return warehouse.execute(
            "SELECT reltuples FROM pg_class WHERE oid = 'bronze.fakestore_products'::regclass"
        ).fetchone()[0]

    ingest()
    assert reltuples() == 3  # ANALYZE counted the rows (never analyzed: -1)
    stats = warehouse.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'fakestore_products'").fetchone()[0]
    assert stats > 0
    warehouse.execute("UPDATE pg_class SET reltuples = 1000 WHERE oid = 'bronze.fakestore_products'::regclass")
    ingest()  # 3 rows against the 1,000 the statistics claim: no ANALYZE, which would set 3 again
    assert reltuples() == 1000
