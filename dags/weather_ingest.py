"""
### Weather ingest

Hourly current weather from OpenWeatherMap for the cities in `WEATHER_CITIES` (`City,CC;City,CC;…`).

* **extract** (one mapped task per city): `GET /data/2.5/weather?q=<city>&units=metric` with the key from
  the Airflow connection `openweather` (its password) or `OPENWEATHER_API_KEY`, masked in the logs. An
  unknown city (HTTP 404) or bad query (400) is quarantined with the API's message and reported; the
  other cities carry on. 401 and 429 fail the task, which Airflow retries.
* **load** (one mapped task per city): the city's batch into `bronze.openweather_observations`.
* **publish_bronze**: the Asset event of `bronze.openweather_observations`.
* **transform**: `stg_openweather__observations` → `int_openweather__observations` (each observation once)
  → incremental `fct_weather_daily` → `mart_weather_daily`.

The API only knows the weather now, so there is no catch-up: a missed hour stays missed.
"""

from datetime import UTC, datetime

from airflow.sdk import CronDataIntervalTimetable
from common.ingest import ingest_dag

ingest_dag(
    "weather_ingest",
    "openweather",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=datetime(2025, 1, 1, tzinfo=UTC),
    doc_md=__doc__,
    tags=["ingest", "bronze", "dbt"],
)
