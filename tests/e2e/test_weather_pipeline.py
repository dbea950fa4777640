"""weather_ingest end to end through Airflow: one mapped task per city, an unknown city quarantined, the
daily fact and mart checked against figures computed here from the sandbox's own answers, the incremental
fact equal to a full refresh, and the API key in no log, lake object or table."""

from __future__ import annotations

import gzip
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from psycopg import sql

from tests.support.pipeline import API_KEY, WEATHER_CITIES

pytestmark = pytest.mark.e2e

RUNS = ("2025-01-10T11:00:00+00:00", "2025-01-10T12:00:00+00:00", "2025-01-10T12:00:00+00:00")
KNOWN = [city for city in WEATHER_CITIES if not city.startswith("Atlantis")]
FACT_QUERY = (
    "SELECT city_id, observation_date, temperature_min_c, temperature_max_c, temperature_mean_c, "
    "humidity_mean_pct, precipitation_mm, dominant_condition, observation_count "
    "FROM core.fct_weather_daily ORDER BY 1, 2"
)


def fact_rows(wh) -> list[tuple]:
    return wh.execute(FACT_QUERY).fetchall()


@pytest.fixture(scope="module")
def pipeline(run, wh, api, dbt):
    wh.reset()
    state: dict = {"logs": [], "served": []}
    try:
        for logical_date in RUNS:
            api.set_clock(logical_date)
            for city in KNOWN:
                state["served"].append(api.get("/data/2.5/weather", q=city, units="metric", appid="any"))
            state["logs"].append(run("weather_ingest", logical_date))
    finally:
        api.set_clock(None)
    state["fact"] = fact_rows(wh)
    state["mart"] = wh.execute(
        "SELECT city_name, observation_date, temperature_min_c, temperature_max_c, temperature_mean_c, "
        "humidity_mean_pct, precipitation_mm, dominant_condition, observation_count FROM marts.mart_weather_daily"
    ).fetchall()
    dbt("run", "--full-refresh", "--select", "fct_weather_daily")
    state["full_refresh_fact"] = fact_rows(wh)
    return state


def expected_daily(observations: list[dict]) -> dict[tuple, tuple]:
    """Per city and local day, from the raw answers: the same observation (city, dt) counts once."""
    unique = {(o["id"], o["dt"]): o for o in observations}
    days: dict[tuple, list[dict]] = defaultdict(list)
    for o in unique.values():
        local_day = (datetime.fromtimestamp(o["dt"], UTC) + timedelta(seconds=o["timezone"])).date()
        days[(o["name"], local_day)].append(o)
    expected = {}
    for key, obs in days.items():
        temps = [Decimal(str(o["main"]["temp"])) for o in obs]
        conditions = Counter(o["weather"][0]["main"] for o in obs)
        top = max(conditions.values())
        precipitation = sum(Decimal(str(o.get(kind, {}).get("1h", 0))) for o in obs for kind in ("rain", "snow"))
        expected[key] = {
            "min": min(temps),
            "max": max(temps),
            "mean": sum(temps) / len(temps),
            "humidity": sum(Decimal(o["main"]["humidity"]) for o in obs) / len(obs),
            "precipitation": precipitation,
            "condition": min(c for c, n in conditions.items() if n == top),
            "count": len(obs),
        }
    return expected


def test_each_known_city_has_one_bronze_row_per_run(pipeline, wh):
    rows = wh.execute(
        "SELECT payload->>'name', count(*), count(DISTINCT batch_id) FROM bronze.openweather_observations "
        "GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert rows == [("London", 2, 2), ("Tokyo", 2, 2)]  # the third run repeats the second interval


def test_unknown_city_is_quarantined_with_the_api_message(pipeline, wh):
    rows = wh.execute(
        "SELECT batch_id, reason, payload->>'message' FROM audit.rejected_records WHERE source = 'openweather'"
    ).fetchall()
    assert len(rows) == 2  # one per interval; the rerun replaced its own
    for batch_id, reason, message in rows:
        assert batch_id.endswith("_atlantis-xx")
        assert reason.startswith("HTTP 404")
        assert message == "city not found"


def test_mart_matches_figures_computed_from_the_api(pipeline):
    expected = expected_daily(pipeline["served"])
    assert len(pipeline["mart"]) == len(expected) > 0
    for name, day, t_min, t_max, t_mean, humidity, precipitation, condition, count in pipeline["mart"]:
        want = expected[(name, day)]
        assert (t_min, t_max, condition, count) == (want["min"], want["max"], want["condition"], want["count"])
        assert abs(t_mean - want["mean"]) < Decimal("0.01")
        assert abs(humidity - want["humidity"]) < Decimal("0.01")
        assert abs(precipitation - want["precipitation"]) < Decimal("0.01")


def test_incremental_fact_equals_a_full_refresh(pipeline):
    assert pipeline["fact"]
    assert pipeline["fact"] == pipeline["full_refresh_fact"]


def test_api_key_is_in_no_log_lake_object_or_table(pipeline, wh, dag_env):
    assert pipeline["logs"]
    assert all(API_KEY not in log for log in pipeline["logs"])
    for folder in (dag_env["AIRFLOW_HOME"], dag_env["LAKE_URL"]):
        for path in Path(folder).rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert API_KEY.encode() not in (gzip.decompress(data) if path.suffix == ".gz" else data), path
    for table in ("audit.ingestion_runs", "audit.rejected_records", "bronze.openweather_observations"):
        query = sql.SQL("SELECT count(*) FROM {} t WHERE t::text LIKE %s").format(sql.Identifier(*table.split(".")))
        hits = wh.execute(query, (f"%{API_KEY}%",)).fetchone()[0]
        assert hits == 0, table
