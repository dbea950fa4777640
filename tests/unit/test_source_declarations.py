"""The source declarations on their own: what the registry finds, partition labels, and the requests an
extraction makes (parameters from the interval and the settings, the key only as a secret parameter)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from python_scripts.ingest.http import ExtractError
from python_scripts.settings import get_settings
from python_scripts.sources import SOURCES, Call, get_source, partition_slug
from python_scripts.sources.base import Window

START, END = datetime(2025, 1, 15, tzinfo=UTC), datetime(2025, 1, 16, tzinfo=UTC)


def call(source: str, partition: str | None = None, window: Window | None = None, **environ: str) -> Call:
    config = get_settings(environ).source(source)
    return Call(START, END, config, partition=partition, window=window)


def test_the_registry_finds_one_source_per_module_with_its_dag():
    assert set(SOURCES) == {"fakestore", "openweather", "alphavantage", "orders"}
    dag_ids = [source.dag.dag_id for source in SOURCES.values()]
    assert sorted(dag_ids) == ["fakestore_ingest", "orders_batch", "stocks_ingest", "weather_ingest"]
    for source in SOURCES.values():
        assert source.doc.strip(), f"{source.name} has no documentation for its DAG"


@pytest.mark.parametrize(
    ("partition", "slug"),
    [("São Paulo,BR", "sao-paulo-br"), ("New York,US", "new-york-us"), ("IBM", "ibm"), ("  BRK.B ", "brk-b")],
)
def test_partition_slugs_are_lowercase_ascii(partition, slug):
    assert partition_slug(partition) == slug


def test_a_partition_without_letters_or_digits_is_refused():
    with pytest.raises(ValueError, match="no letters or digits"):
        partition_slug("¿?")


def test_a_windowed_entity_asks_for_its_window_by_day_or_for_the_whole_history():
    carts = get_source("fakestore")
    (request,) = carts.requests("carts", call("fakestore", window=Window(START - timedelta(days=2), END)))
    assert request.params == {"startdate": "2025-01-13", "enddate": "2025-01-16"}
    (request,) = carts.requests("carts", call("fakestore", window=Window(None, END)))
    assert request.params == {}


def test_base_urls_and_list_settings_come_from_the_source_settings():
    (request,) = get_source("orders").requests(
        "orders", call("orders", ORDERS_BASE_URL="http://feed.test", ORDERS_BATCH_SIZE="7")
    )
    assert request.describe().startswith("http://feed.test/orders?")
    assert request.params == {"as_of": "2025-01-16T00:00:00Z", "size": "7"}
    parts = get_source("alphavantage").parts(get_settings({"STOCK_TICKERS": "IBM, MSFT"}))
    assert parts == [{"entity": "daily_prices", "partition": "IBM"}, {"entity": "daily_prices", "partition": "MSFT"}]


def test_the_key_goes_in_its_parameter_and_never_in_the_description():
    weather = get_source("openweather")
    (request,) = weather.requests("observations", call("openweather", "London,GB", OPENWEATHER_API_KEY="s3cret-key"))
    assert request.params == {"q": "London,GB", "units": "metric"}
    assert request.secret_params == {"appid": "s3cret-key"}
    assert "s3cret-key" not in request.describe()
    (request,) = weather.requests("observations", call("openweather", "Oslo,NO"), api_key="from-connection")
    assert request.secret_params == {"appid": "from-connection"}


def test_a_missing_key_names_the_variable_and_the_connection():
    with pytest.raises(ExtractError, match=r"ALPHAVANTAGE_API_KEY or the Airflow connection 'alphavantage'"):
        get_source("alphavantage").requests("daily_prices", call("alphavantage", "IBM"))


def test_a_partitioned_entity_needs_its_partition():
    with pytest.raises(ValueError, match="per partition"):
        get_source("openweather").requests("observations", call("openweather", OPENWEATHER_API_KEY="k"))
