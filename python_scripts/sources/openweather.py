"""
### Weather ingest

Hourly current weather from OpenWeatherMap for the cities in `WEATHER_CITIES` (`City,CC;City,CC;…`).

* **extract** (one mapped task per city): `GET /data/2.5/weather?q=<city>&units=metric` with the key from
  the Airflow connection `openweather` (its password) or `OPENWEATHER_API_KEY`, masked in the logs. An
  unknown city (HTTP 404) or bad query (400) is quarantined with the API's message and reported; the
  other cities carry on. A missing or refused key (401) fails the task at once, without retries; 429 fails it
  for Airflow to retry.
* **load** (one mapped task per city): the city's batch into `bronze.openweather_observations`.
* **publish_bronze**: the Asset event of `bronze.openweather_observations`.
* **transform**: `stg_openweather__observations` → `int_openweather__observations` (each observation once)
  → incremental `fct_weather_daily` → `mart_weather_daily`.

The API only knows the weather now, so there is no catch-up: a missed hour stays missed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import requests
from pydantic import SecretStr

from python_scripts.ingest.http import Quarantined, Request, json_records
from python_scripts.settings import listing, setting
from python_scripts.sources.base import Call, Dag, Entity, Source, SourceSettings

DEFAULT_CITIES = ("London,GB", "Paris,FR", "New York,US", "Tokyo,JP", "Sydney,AU", "São Paulo,BR")


class OpenWeatherSettings(SourceSettings):
    base_url: str = setting(
        "https://api.openweathermap.org", "OPENWEATHER_BASE_URL", "The OpenWeatherMap API (unset: the sandbox)."
    )
    api_key: SecretStr | None = setting(
        None, "OPENWEATHER_API_KEY", "OpenWeatherMap key (or the Airflow connection `openweather`, which wins)."
    )
    cities: listing(";", min_items=1) = setting(
        DEFAULT_CITIES,
        "WEATHER_CITIES",
        "`City,CC` items separated by semicolons, one mapped extraction each.",
        empty_is_error=True,
    )


def _weather_params(call: Call) -> dict[str, str]:
    return {"q": call.partition or "", "units": "metric"}


def _error_body(response: requests.Response) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return {"body": response.content[:2000].decode("utf-8", errors="replace")}


def openweather_observation(response: requests.Response, request: Request) -> Iterator[Any]:
    """The one observation of a 200; a 400/404 (unknown city, bad query) is quarantined with its message."""
    if response.status_code == 200:
        yield from json_records(response, request)
        return
    body = _error_body(response)
    message = body.get("message") if isinstance(body, dict) else None
    yield Quarantined(body, f"HTTP {response.status_code} for {request.describe()}: {message or body}")


SOURCE = Source(
    name="openweather",
    settings=OpenWeatherSettings,
    api_key_param="appid",  # pragma: allowlist secret
    entities=(
        Entity(
            "observations",
            "/data/2.5/weather",
            params=_weather_params,
            reader=openweather_observation,
            partitions=lambda config: config.cities,
            pass_statuses=frozenset({400, 404}),
            key=("id", "dt"),
        ),
    ),
    dag=Dag("weather_ingest", cron="0 * * * *"),
    doc=__doc__,
    sandboxed=True,
)
