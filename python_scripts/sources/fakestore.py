"""
### Fake Store ingest

Daily snapshot of the Fake Store API (products, users, carts) into the warehouse.

* **extract** (one mapped task per entity): streams `/products`, `/users` (full snapshots) and `/carts`
  (the run's data interval as `startdate`/`enddate`, or the whole history with the `full_history` param)
  through JSON Schema validation into the lake: `raw/fakestore/<entity>/YYYY/MM/DD/<batch>.json.gz`, with
  invalid records beside it under `rejected/`.
* **load** (one mapped task per entity): replaces the interval's batch in `bronze.fakestore_<entity>` with
  COPY in one transaction, quarantines rejects in `audit.rejected_records`, reconciles
  extracted = loaded + rejected and records the run in `audit.ingestion_runs`.
* **publish_bronze**: one Asset event per bronze table (`bronze.fakestore_*`).
* **transform** (Cosmos task group): every dbt node downstream of the Fake Store sources: source
  freshness, staging views, the current versions (intermediate), the SCD2 snapshots, core dims and facts,
  marts, each built together with its tests.

Reruns of the same logical date overwrite the same lake objects and the same bronze batch, and leave
core and marts unchanged.
"""

from __future__ import annotations

from python_scripts.settings import setting
from python_scripts.sources.base import Call, Dag, Entity, Source, SourceSettings


class FakestoreSettings(SourceSettings):
    base_url: str = setting(
        "https://fakestoreapi.com", "FAKESTORE_BASE_URL", "The Fake Store API (unset: `make run` serves the sandbox)."
    )
    full_history: bool = setting(
        False, "FAKESTORE_CARTS_FULL_HISTORY", "Extract every cart instead of the run's data interval."
    )


def _carts_window(call: Call) -> dict[str, str]:
    if call.full_history:
        return {}
    return {"startdate": f"{call.interval_start:%Y-%m-%d}", "enddate": f"{call.interval_end:%Y-%m-%d}"}


SOURCE = Source(
    name="fakestore",
    settings=FakestoreSettings,
    entities=(
        Entity("products", "/products", key=("id",)),
        Entity("users", "/users", key=("id",)),
        Entity("carts", "/carts", params=_carts_window, windowed=True, key=("id",)),
    ),
    dag=Dag("fakestore_ingest", cron="0 0 * * *"),
    doc=__doc__,
    sandboxed=True,
)
