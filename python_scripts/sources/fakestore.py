"""
### Fake Store ingest

Daily snapshot of the Fake Store API (products, users, carts) into the warehouse.

* **extract** (one mapped task per entity): streams `/products`, `/users` (full snapshots) and `/carts`
  (windowed: the whole history on the first load or with the `full_refresh` param, then the carts dated from
  the cursor to the end of the run's data interval, as `startdate`/`enddate`) through JSON Schema validation
  into the lake: `raw/fakestore/<entity>/YYYY/MM/DD/<batch>.json.gz`, with
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
    full_refresh: bool = setting(
        False,
        "FAKESTORE_FULL_REFRESH",
        "Ask for every cart on every run instead of those dated from the cursor (one run: the DAG's `full_refresh` "
        "param).",
    )
    lookback_days: int = setting(
        0, "FAKESTORE_LOOKBACK_DAYS", "Days before the cursor that each run asks for again (carts dated late).", ge=0
    )


def _carts_window(call: Call) -> dict[str, str]:
    """Carts dated in the window, by day (the API's `startdate` is inclusive, `enddate` exclusive)."""
    if call.window is None or call.window.whole_history:
        return {}
    return {"startdate": f"{call.window.start:%Y-%m-%d}", "enddate": f"{call.window.end:%Y-%m-%d}"}


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
