"""Replay from the lake into the real test warehouse: batches landed by extractions against real HTTP
(pytest-httpserver) reload without any request, identical to what the runs loaded; a missing object, a
truncated gzip, a tampered envelope or an object without its manifest is a clear error naming the object, and
bronze keeps its previous batch."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from python_scripts.ingest.extract import extract_to_lake
from python_scripts.ingest.lake import LocalLake
from python_scripts.ingest.load import LakeObjectError, ReconciliationError, load_from_lake
from python_scripts.ingest.replay import ReplayError, plan_replay
from python_scripts.ops.replay import replay_from_lake
from python_scripts.settings import get_settings
from python_scripts.warehouse.checksum import table_checksum

DAY = timedelta(days=1)
JAN_15 = datetime(2025, 1, 15, tzinfo=UTC)
PRODUCTS = [{"id": n, "title": f"product {n}", "price": 1.5 * n, "category": "electronics"} for n in range(1, 6)]
CARTS = [
    {"id": 1, "userId": 1, "date": "2025-01-14T10:00:00.000Z", "products": [{"productId": 1, "quantity": 2}]},
    {"id": 2, "userId": 2, "date": "2025-01-15T11:00:00.000Z", "products": [{"productId": 3, "quantity": 1}]},
    {"id": 2, "userId": 2, "date": "2025-01-15T11:00:00.000Z", "products": []},  # a duplicate: quarantined
]
TABLES = ("bronze.fakestore_products", "bronze.fakestore_carts", "audit.rejected_records")


@pytest.fixture
def landed(settings, warehouse, httpserver, monkeypatch) -> list[dict]:
    """Products and carts of three days extracted and loaded; what the loads returned."""
    monkeypatch.setenv("FAKESTORE_BASE_URL", httpserver.url_for("/").rstrip("/"))
    httpserver.expect_request("/products").respond_with_json(PRODUCTS)
    httpserver.expect_request("/carts").respond_with_json(CARTS)
    results = []
    for day in range(3):
        for entity in ("products", "carts"):
            start = JAN_15 + day * DAY
            results.append(load_from_lake(extract_to_lake("fakestore", entity, start, start + DAY)))
    httpserver.clear_log()
    return results


def state(warehouse) -> dict:
    """Checksums of what a load writes, and the carts' extraction state."""
    checksums = {table: table_checksum(warehouse, table, exclude={"loaded_at", "rejected_at"}) for table in TABLES}
    windows = warehouse.execute(
        "SELECT batch_id, window_start, window_end FROM audit.extraction_windows ORDER BY 1"
    ).fetchall()
    return {**checksums, "windows": windows}


def empty_the_warehouse(warehouse) -> None:
    warehouse.execute(
        "TRUNCATE bronze.fakestore_products, bronze.fakestore_carts, audit.rejected_records, "
        "audit.extraction_windows, audit.ingestion_runs"
    )


def test_a_replay_reloads_what_the_runs_loaded_without_a_request(landed, warehouse, httpserver):
    before = state(warehouse)
    assert before["windows"][0][1] is None  # the carts' first load, then two windows from the cursor
    empty_the_warehouse(warehouse)
    results = replay_from_lake("fakestore", None, JAN_15, JAN_15 + 3 * DAY, settings=get_settings(), transform=False)
    assert state(warehouse) == before
    assert [(r["entity"], r["batch_id"], r["loaded"]) for r in results] == sorted(
        [(r["entity"], r["batch_id"], r["loaded"]) for r in landed], key=lambda row: (row[1], row[0])
    )
    assert httpserver.log == [], "a replay calls no API"
    runs = warehouse.execute("SELECT stage, replay, status, count(*) FROM audit.ingestion_runs GROUP BY 1, 2, 3")
    assert runs.fetchall() == [("load", True, "success", 6)]


def test_a_replay_of_one_entity_and_part_of_the_range(landed, warehouse):
    intervals = plan_replay(LocalLake(get_settings().lake_url), "fakestore", ["carts"], JAN_15 + DAY, JAN_15 + 2 * DAY)
    assert [(i.start, [m["entity"] for m in i.manifests]) for i in intervals] == [(JAN_15 + DAY, ["carts"])]


def corrupt(lake_dir, result: dict, how: str) -> str:
    """Damage the raw object of a loaded batch; return its URI."""
    path = lake_dir / result["raw_key"]
    data = path.read_bytes()
    if how == "missing":
        path.unlink()
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "tampered":
        lines = gzip.decompress(data).split(b"\n")
        envelope = orjson.loads(lines[0])
        envelope["envelope"]["interval_start"] = "2024-01-01T00:00:00+00:00"
        path.write_bytes(gzip.compress(b"\n".join([orjson.dumps(envelope), *lines[1:]])))
    return result["raw_uri"]


@pytest.mark.parametrize(
    ("how", "error", "says"),
    [
        ("missing", LakeObjectError, "is missing"),
        ("truncated", LakeObjectError, "is missing or unreadable"),
        ("tampered", ReconciliationError, "does not hold the batch its key names"),
    ],
)
def test_a_damaged_object_is_a_clear_error_and_bronze_keeps_its_batch(landed, warehouse, lake_dir, how, error, says):
    before = state(warehouse)
    carts = landed[1]  # the carts of the first day
    assert (carts["entity"], carts["interval_start"]) == ("carts", JAN_15.isoformat())
    uri = corrupt(lake_dir, carts, how)
    with pytest.raises(error, match=says) as failure:
        replay_from_lake("fakestore", ["carts"], JAN_15, JAN_15 + DAY, settings=get_settings(), transform=False)
    assert uri in str(failure.value) or carts["raw_key"] in str(failure.value)
    assert state(warehouse) == before
    failed = warehouse.execute("SELECT error FROM audit.ingestion_runs WHERE replay AND status = 'failed'").fetchall()
    assert len(failed) == 1
    assert says in failed[0][0]


def test_an_object_without_its_manifest_is_named_not_skipped(landed, warehouse, lake_dir):
    (manifest,) = lake_dir.glob("manifests/fakestore/carts/2025/01/16/*.json")
    manifest.unlink()
    with pytest.raises(ReplayError, match=r"raw/fakestore/carts/2025/01/16/\S+ has no manifest beside it"):
        replay_from_lake("fakestore", ["carts"], JAN_15, JAN_15 + 3 * DAY, settings=get_settings(), transform=False)


def test_a_range_with_nothing_to_replay_is_an_error(landed):
    with pytest.raises(ReplayError, match="holds no batch of fakestore/carts"):
        replay_from_lake("fakestore", ["carts"], JAN_15 - 9 * DAY, JAN_15, settings=get_settings(), transform=False)
