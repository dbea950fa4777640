"""fakestore_ingest end to end through Airflow: sandbox → lake → bronze, then a rerun that changes nothing."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

RUN_DATE = "2025-01-11"  # data interval 2025-01-10 → 2025-01-11


def bronze_checksum(wh, entity: str) -> tuple[int, str]:
    return wh.execute(
        f"""
        SELECT count(*), md5(string_agg(batch_id || record_no || record_hash || payload::text, ','
                                        ORDER BY batch_id, record_no))
        FROM bronze.fakestore_{entity}
        """
    ).fetchone()


@pytest.fixture(scope="module")
def ingested(run, wh):
    wh.reset()
    run("fakestore_ingest", RUN_DATE, full_history=False)
    first = {entity: bronze_checksum(wh, entity) for entity in ("products", "users", "carts")}
    run("fakestore_ingest", RUN_DATE, full_history=False)
    second = {entity: bronze_checksum(wh, entity) for entity in ("products", "users", "carts")}
    return first, second


def test_bronze_counts_equal_what_the_sandbox_served(ingested, api):
    first, _ = ingested
    assert first["products"][0] == len(api.get("/products"))
    assert first["users"][0] == len(api.get("/users"))
    carts = api.get("/carts", startdate="2025-01-10", enddate="2025-01-11")
    assert carts, "the sandbox should have carts in the interval"
    assert first["carts"][0] == len(carts)


def test_bronze_payloads_are_the_served_records(ingested, api, wh):
    served = {cart["id"]: cart for cart in api.get("/carts", startdate="2025-01-10", enddate="2025-01-11")}
    loaded = dict(wh.execute("SELECT (payload->>'id')::int, payload FROM bronze.fakestore_carts").fetchall())
    assert loaded == served


def test_a_second_run_of_the_same_date_changes_nothing(ingested):
    first, second = ingested
    assert second == first


def test_audit_records_every_stage(ingested, wh):
    rows = wh.execute(
        """
        SELECT entity, stage, count(*), bool_and(status = 'success'),
               bool_and(extracted_count = coalesce(loaded_count, valid_count) + rejected_count)
        FROM audit.ingestion_runs GROUP BY 1, 2 ORDER BY 1, 2
        """
    ).fetchall()
    assert rows == [
        (entity, stage, 2, True, True) for entity in ("carts", "products", "users") for stage in ("extract", "load")
    ]
