"""A lost warehouse rebuilt from the lake: every source loaded for two days (a user moving city and a price changing
in between, so the SCD2 dimensions have history), the warehouse dropped and re-created, then every source replayed
from the lake, Fake Store through the ``lake_replay`` DAG (``airflow dags test``) and the others through the
function it runs. Bronze, intermediate, the snapshots, core and the business marts come back identical.

The two days are loaded the way an ingest DAG's tasks do it, without Airflow (extract and load per part, then one
``dbt build`` per day), to keep this test short: each ingest DAG runs end to end in its own module.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from python_scripts.ingest.pipeline import ingest
from python_scripts.ops.airflow_cli import run_dag
from python_scripts.ops.replay import replay_from_lake
from python_scripts.settings import get_settings
from python_scripts.sources import SOURCES
from python_scripts.transform.runner import DbtError, run_dbt
from python_scripts.warehouse.checksum import table_checksum

pytestmark = pytest.mark.e2e

DAY = timedelta(days=1)
DAYS = (datetime(2025, 1, 14, tzinfo=UTC), datetime(2025, 1, 15, tzinfo=UTC))
WEATHER_HOUR = timedelta(hours=10)  # weather is hourly: one hour of each day
# Relations about runs rather than data (the audit trail's views) differ after a rebuild by design.
ABOUT_RUNS = ("mart_pipeline_runs", "mart_source_freshness")
BUSINESS_SELECTION = [f"source:{name}+" for name in SOURCES]


def interval(source: str, day: datetime) -> tuple[datetime, datetime]:
    if source == "openweather":
        return day + WEATHER_HOUR, day + WEATHER_HOUR + timedelta(hours=1)
    return day, day + DAY


def relations(wh) -> list[str]:
    rows = wh.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables"
        " WHERE table_schema IN ('bronze', 'intermediate', 'core', 'marts') ORDER BY 1"
    ).fetchall()
    return [name for (name,) in rows if name.split(".")[1] not in ABOUT_RUNS]


def checksums(wh) -> dict[str, tuple[int, str]]:
    return {name: table_checksum(wh, name) for name in relations(wh)}


@pytest.fixture(scope="module")
def rebuilt(dag_env, wh, api, tmp_path_factory) -> dict:
    wh.reset()
    env = {**dag_env, "LAKE_URL": str(tmp_path_factory.mktemp("rebuild_lake"))}
    settings = get_settings(env)
    api.clear_overrides()
    try:
        for n, day in enumerate(DAYS):
            if n == 1:
                api.override("users", 1, {"address": {"city": "Oslo"}})
                api.override("products", 2, {"price": 999.5})
            for source in SOURCES.values():
                start, end = interval(source.name, day)
                api.set_clock(end.isoformat())
                for part in source.parts(settings):
                    ingest(source.name, part["entity"], start, end, partition=part.get("partition"), settings=settings)
            run_dbt("build", "--select", *BUSINESS_SELECTION, env=env, timeout=600)
    finally:
        api.clear_overrides()
        api.set_clock(None)
    before = checksums(wh)

    wh.reset()  # dropped and created again: roles, schemas, audit, empty bronze
    first, last = DAYS[0], DAYS[-1] + DAY
    conf = {"source": "fakestore", "entity": "", "start": first.isoformat(), "end": last.isoformat()}
    run_dag("lake_replay", "2025-02-01", env, conf=conf)
    for name in SOURCES:
        if name != "fakestore":
            replay_from_lake(name, None, first, last, settings=settings, on_line=lambda line: None)
    return {"before": before, "after": checksums(wh)}


def test_the_rebuilt_warehouse_has_every_relation_it_had(rebuilt):
    assert sorted(rebuilt["after"]) == sorted(rebuilt["before"])
    assert "core.snp_fakestore__users" in rebuilt["before"]


def test_every_relation_is_identical_after_the_rebuild(rebuilt):
    different = [name for name in rebuilt["before"] if rebuilt["after"].get(name) != rebuilt["before"][name]]
    assert different == []
    assert all(count > 0 for name, (count, _) in rebuilt["before"].items() if name.startswith("bronze."))


def test_the_scd2_history_follows_the_batches_not_the_rebuild(rebuilt, wh):
    versions = wh.execute(
        "SELECT city, valid_from::date::text, is_current FROM core.dim_users WHERE user_id = 1 ORDER BY valid_from"
    ).fetchall()
    assert [row[1:] for row in versions] == [("1900-01-01", False), (f"{DAYS[1]:%Y-%m-%d}", True)]
    assert versions[1][0] == "oslo"


def test_replays_are_audited_as_such_and_do_not_make_a_source_fresh(rebuilt, wh, dbt):
    runs = wh.execute("SELECT DISTINCT stage, replay, status FROM audit.ingestion_runs").fetchall()
    assert runs == [("load", True, "success")]
    with pytest.raises(DbtError, match=r"freshness of fakestore\.carts"):
        dbt("source", "freshness", "--select", "source:fakestore.carts")  # no API was checked
