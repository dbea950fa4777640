"""Source freshness follows the audit trail, not the arrival of rows: an entity checked and loaded successfully
within its window is fresh even when the load found nothing new (an empty delta), and stale when its last
successful load is too old or there is none, whatever bronze holds. dbt's own `source freshness` decides."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from python_scripts.ingest.http import ExtractError
from python_scripts.ingest.pipeline import ingest
from python_scripts.settings import get_settings
from python_scripts.transform.runner import DbtError

# The first load (every cart: the extraction state is empty), then a day after the sandbox's last cart.
FIRST_LOAD = (datetime(2025, 2, 27, tzinfo=UTC), datetime(2025, 2, 28, tzinfo=UTC))
NO_CARTS = (datetime(2025, 2, 28, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC))
FRESHNESS = ("source", "freshness", "--select", "source:fakestore.carts")


def age(wh, table: str, *columns: str) -> None:
    """Move the given timestamps three days back, as if the days had passed (error_after is two days)."""
    moved = ", ".join(f"{column} = {column} - interval '3 days'" for column in columns)
    wh.execute(f"UPDATE {table} SET {moved}")  # noqa: S608 - fixed names


def test_an_empty_delta_is_fresh_and_an_old_or_missing_load_is_stale(dag_env, wh, api, dbt, tmp_path):
    wh.reset()
    settings = get_settings({**dag_env, "LAKE_URL": str(tmp_path)})
    with pytest.raises(DbtError, match=r"freshness of fakestore\.carts"):
        dbt(*FRESHNESS)  # never loaded: no successful load to be fresh from

    assert ingest("fakestore", "carts", *FIRST_LOAD, settings=settings)["loaded"] > 0
    age(wh, "bronze.fakestore_carts", "loaded_at")
    age(wh, "audit.ingestion_runs", "started_at", "finished_at")
    with pytest.raises(DbtError, match=r"freshness of fakestore\.carts"):
        dbt(*FRESHNESS)  # three days without a successful load

    api.add_fault(kind="status", path="/carts", status=503, times=20)
    try:
        with pytest.raises(ExtractError):
            ingest("fakestore", "carts", *NO_CARTS, settings=settings)
    finally:
        api.clear_faults()
    with pytest.raises(DbtError, match=r"freshness of fakestore\.carts"):
        dbt(*FRESHNESS)  # a failed extraction today is no check: still stale

    assert ingest("fakestore", "carts", *NO_CARTS, settings=settings)["loaded"] == 0
    dbt(*FRESHNESS)  # checked today, nothing new: fresh, although the newest bronze row is three days old
