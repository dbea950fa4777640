"""The source registry: what each source serves and how a data interval becomes requests and records.

A source is a declaration here, a JSON Schema per entity under ``schemas/<source>/`` and a staging model
in dbt; :mod:`python_scripts.ingest.pipeline` runs extract → validate → land → load → audit the same way for all.

An entity declares:

* ``path`` and ``params``: the request for one call (interval, settings and, for partitioned entities,
  the partition);
* ``partitions``: the settings list an entity is fetched per item of (weather per city, prices per
  ticker), one extraction, lake object and bronze batch per item;
* ``reader``: how a response becomes records, or quarantined parts, or a failure;
* ``pass_statuses``: HTTP error statuses whose body is quarantined instead of failing the extraction;
* ``key``: the fields that identify a record within one batch; a record repeating a key already seen in
  the batch is quarantined as a duplicate.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import requests

from python_scripts.ingest.http import ExtractError, Quarantined, Request, SourceThrottled, json_records
from python_scripts.settings import Settings

Reader = Callable[[requests.Response, Request], Iterator[Any]]


@dataclass(frozen=True)
class Call:
    """Everything one extraction's requests depend on."""

    interval_start: datetime
    interval_end: datetime
    settings: Settings
    partition: str | None = None
    full_history: bool = False


def _no_params(call: Call) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class Entity:
    name: str
    path: str
    params: Callable[[Call], Mapping[str, str]] = _no_params
    reader: Reader = json_records
    partitions: Callable[[Settings], tuple[str, ...]] | None = None
    pass_statuses: frozenset[int] = frozenset()
    windowed: bool = False  # asked only for the data interval, unless a full history is requested
    key: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApiKey:
    """Where a source's key goes (query parameter) and where it comes from (setting / environment)."""

    param: str
    setting: str
    env_var: str


@dataclass(frozen=True)
class Source:
    name: str
    base_url_setting: str
    entities: Mapping[str, Entity] = field(default_factory=dict)
    api_key: ApiKey | None = None

    def entity(self, name: str) -> Entity:
        try:
            return self.entities[name]
        except KeyError:
            raise KeyError(f"source {self.name!r} has no entity {name!r}; known: {sorted(self.entities)}") from None

    def parts(self, settings: Settings) -> list[dict[str, str]]:
        """One ``{"entity", "partition"?}`` per extraction a run makes: what an ingest DAG maps over."""
        parts: list[dict[str, str]] = []
        for entity in self.entities.values():
            if entity.partitions is None:
                parts.append({"entity": entity.name})
            else:
                parts += [{"entity": entity.name, "partition": item} for item in entity.partitions(settings)]
        return parts

    def requests(self, entity: str, call: Call, api_key: str | None = None) -> list[Request]:
        """The requests of one extraction; ``api_key`` overrides the key from the settings."""
        spec = self.entity(entity)
        if spec.partitions is not None and not call.partition:
            raise ValueError(f"{self.name}/{entity} is fetched per partition; pass one")
        secret_params: dict[str, str] = {}
        if self.api_key is not None:
            key = api_key or getattr(call.settings, self.api_key.setting)
            if not key:
                raise ExtractError(
                    f"{getattr(call.settings, self.base_url_setting)}{spec.path}",
                    f"no API key: set {self.api_key.env_var} or the Airflow connection {self.name!r}",
                )
            secret_params[self.api_key.param] = key
        base_url = getattr(call.settings, self.base_url_setting)
        return [Request(base_url, spec.path, dict(spec.params(call)), secret_params)]


BRONZE_SCHEMA = "bronze"


def bronze_table_parts(source: str, entity: str) -> tuple[str, str]:
    """The schema and table of a source entity's bronze table: ``("bronze", "<source>_<entity>")``."""
    return BRONZE_SCHEMA, f"{source}_{entity}"


def bronze_table_name(source: str, entity: str) -> str:
    """The schema-qualified name of a source entity's bronze table, as text: ``bronze.<source>_<entity>``."""
    return ".".join(bronze_table_parts(source, entity))


def partition_slug(partition: str) -> str:
    """A lowercase ASCII label for a partition, used in batch ids and lake keys: ``São Paulo,BR`` →
    ``sao-paulo-br``."""
    ascii_text = unicodedata.normalize("NFKD", partition).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if not slug:
        raise ValueError(f"partition {partition!r} has no letters or digits")
    return slug


# Fake Store ------------------------------------------------------------------------------------------


def _carts_window(call: Call) -> dict[str, str]:
    if call.full_history:
        return {}
    return {"startdate": f"{call.interval_start:%Y-%m-%d}", "enddate": f"{call.interval_end:%Y-%m-%d}"}


FAKESTORE = Source(
    name="fakestore",
    base_url_setting="fakestore_base_url",
    entities={
        "products": Entity("products", "/products", key=("id",)),
        "users": Entity("users", "/users", key=("id",)),
        "carts": Entity("carts", "/carts", params=_carts_window, windowed=True, key=("id",)),
    },
)


# OpenWeatherMap current weather ----------------------------------------------------------------------


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


OPENWEATHER = Source(
    name="openweather",
    base_url_setting="openweather_base_url",
    api_key=ApiKey(param="appid", setting="openweather_api_key", env_var="OPENWEATHER_API_KEY"),
    entities={
        "observations": Entity(
            "observations",
            "/data/2.5/weather",
            params=_weather_params,
            reader=openweather_observation,
            partitions=lambda settings: settings.weather_cities,
            pass_statuses=frozenset({400, 404}),
            key=("id", "dt"),
        ),
    },
)


# Alpha Vantage daily prices --------------------------------------------------------------------------

ALPHAVANTAGE_SERIES = "Time Series (Daily)"


def _prices_params(call: Call) -> dict[str, str]:
    return {"function": "TIME_SERIES_DAILY", "symbol": call.partition or "", "outputsize": "compact"}


def alphavantage_daily(response: requests.Response, request: Request) -> Iterator[Any]:
    """One record per trading day: the day's values as received, with the symbol and date added.

    Alpha Vantage answers errors with HTTP 200: ``Information`` / ``Note`` (rate limit, premium feature)
    raise SourceThrottled; an ``Error Message`` about the key raises ExtractError; any other
    ``Error Message`` (a bad symbol) is quarantined. A body without the series is never an empty day.
    The body (100 days, or about 1 MB for a full history) is parsed whole.
    """
    url = request.describe()
    try:
        body = orjson.loads(response.content)
    except (orjson.JSONDecodeError, requests.exceptions.RequestException) as exc:
        raise ExtractError(url, f"malformed or truncated JSON: {exc}", 200) from None
    if not isinstance(body, dict):
        raise ExtractError(url, "expected a JSON object", 200, response.content[:300])
    for key in ("Information", "Note"):
        if key in body:
            raise SourceThrottled(url, f"refused with {key!r}", 200, str(body[key]))
    if "Error Message" in body:
        message = str(body["Error Message"])
        if "apikey" in message.lower():
            raise ExtractError(url, "the API key was refused", 200, message)
        yield Quarantined(body, f"Alpha Vantage error for {url}: {message}")
        return
    series, meta = body.get(ALPHAVANTAGE_SERIES), body.get("Meta Data")
    if not isinstance(series, dict) or not series or not isinstance(meta, dict):
        raise ExtractError(url, f"no {ALPHAVANTAGE_SERIES!r} in the response", 200, response.content[:300])
    context = {"last_refreshed": meta.get("3. Last Refreshed"), "time_zone": meta.get("5. Time Zone")}
    symbol = meta.get("2. Symbol")
    for day, values in series.items():
        day_values = values if isinstance(values, dict) else {"values": values}
        yield {"symbol": symbol, "date": day, **day_values, **context}


ALPHAVANTAGE = Source(
    name="alphavantage",
    base_url_setting="alphavantage_base_url",
    api_key=ApiKey(param="apikey", setting="alphavantage_api_key", env_var="ALPHAVANTAGE_API_KEY"),
    entities={
        "daily_prices": Entity(
            "daily_prices",
            "/query",
            params=_prices_params,
            reader=alphavantage_daily,
            partitions=lambda settings: settings.stock_tickers,
            key=("symbol", "date"),
        ),
    },
)


# Synthetic orders feed -------------------------------------------------------------------------------


def _orders_params(call: Call) -> dict[str, str]:
    return {"as_of": f"{call.interval_end:%Y-%m-%dT%H:%M:%SZ}", "size": str(call.settings.orders_batch_size)}


ORDERS = Source(
    name="orders",
    base_url_setting="orders_base_url",
    entities={"orders": Entity("orders", "/orders", params=_orders_params, key=("order_id",))},
)


SOURCES: dict[str, Source] = {source.name: source for source in (FAKESTORE, OPENWEATHER, ALPHAVANTAGE, ORDERS)}


def get_source(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise KeyError(f"unknown source {name!r}; known: {sorted(SOURCES)}") from None
