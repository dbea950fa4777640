"""Weather, stock and orders entities through the generic extract → land → load path, against real HTTP
(pytest-httpserver) and the real PostgreSQL test warehouse: partitions, quarantined error answers,
Alpha Vantage's HTTP-200 errors and throttling, and API keys that never leave the request."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from werkzeug import Response

from python_scripts.ingest.extract import extract_to_lake
from python_scripts.ingest.http import CredentialsError, ExtractError, SourceThrottled
from python_scripts.ingest.lake import LocalLake, open_lines_reader
from python_scripts.ingest.load import load_from_lake
from python_scripts.settings import get_settings
from python_scripts.sources import SOURCES, Call, partition_slug

START = datetime(2025, 1, 10, 11, tzinfo=UTC)
END = datetime(2025, 1, 10, 12, tzinfo=UTC)
KEY = "k3y-that-must-not-leak"

LONDON = {
    "coord": {"lon": -0.1257, "lat": 51.5085},
    "weather": [{"id": 500, "main": "Rain", "description": "light rain", "icon": "10d"}],
    "base": "stations",
    "main": {"temp": 7.1, "feels_like": 4.9, "temp_min": 6.2, "temp_max": 8.0, "pressure": 1012, "humidity": 81},
    "visibility": 10000,
    "wind": {"speed": 4.1, "deg": 240},
    "rain": {"1h": 0.35},
    "clouds": {"all": 75},
    "dt": 1736506800,
    "sys": {"country": "GB", "sunrise": 1736496000, "sunset": 1736525000},
    "timezone": 0,
    "id": 2643743,
    "name": "London",
    "cod": 200,
}
CITY_NOT_FOUND = {"cod": "404", "message": "city not found"}


def daily(symbol: str, days: dict[str, str]) -> dict:
    return {
        "Meta Data": {
            "1. Information": "Daily Prices (open, high, low, close) and Volumes",
            "2. Symbol": symbol,
            "3. Last Refreshed": max(days),
            "4. Output Size": "Compact",
            "5. Time Zone": "US/Eastern",
        },
        "Time Series (Daily)": {
            day: {"1. open": close, "2. high": close, "3. low": close, "4. close": close, "5. volume": "1000"}
            for day, close in sorted(days.items(), reverse=True)
        },
    }


@pytest.fixture
def api(httpserver, monkeypatch):
    base = httpserver.url_for("/").rstrip("/")
    for name in ("OPENWEATHER_BASE_URL", "ALPHAVANTAGE_BASE_URL", "ORDERS_BASE_URL"):
        monkeypatch.setenv(name, base)
    monkeypatch.setenv("OPENWEATHER_API_KEY", KEY)
    monkeypatch.setenv("ALPHAVANTAGE_API_KEY", KEY)
    monkeypatch.setenv("HTTP_THROTTLE_WAIT", "0.05")
    return httpserver


def ingest(source: str, entity: str, partition: str | None = None) -> tuple[dict, dict]:
    manifest = extract_to_lake(source, entity, START, END, partition=partition)
    return manifest, load_from_lake(manifest)


def lake_text(manifest: dict, key: str) -> str:
    with open_lines_reader(LocalLake(get_settings().lake_url), manifest[key]) as stream:
        return stream.read().decode()


def test_partition_slug_is_ascii_and_stable():
    assert partition_slug("São Paulo,BR") == "sao-paulo-br"
    assert partition_slug(" New York , US ") == "new-york-us"
    with pytest.raises(ValueError, match="no letters or digits"):
        partition_slug("…")


def test_parts_follow_the_settings(monkeypatch):
    monkeypatch.setenv("WEATHER_CITIES", "Oslo,NO; Lima,PE ;")
    monkeypatch.setenv("STOCK_TICKERS", "IBM, KO")
    settings = get_settings()
    assert SOURCES["openweather"].parts(settings) == [
        {"entity": "observations", "partition": "Oslo,NO"},
        {"entity": "observations", "partition": "Lima,PE"},
    ]
    assert [p["partition"] for p in SOURCES["alphavantage"].parts(settings)] == ["IBM", "KO"]
    assert SOURCES["fakestore"].parts(settings) == [{"entity": e} for e in ("products", "users", "carts")]
    assert SOURCES["orders"].parts(settings) == [{"entity": "orders"}]


def test_requests_carry_the_key_but_never_show_it(settings):
    call = Call(START, END, settings.source("openweather"), partition="London,GB")
    (request,) = SOURCES["openweather"].requests("observations", call, api_key=KEY)
    assert request.secret_params == {"appid": KEY}
    assert KEY not in request.describe()
    assert KEY not in repr(request)
    assert request.redact(f"GET /x?appid={KEY}&q=London") == "GET /x?appid=***&q=London"


def test_a_missing_key_is_a_clear_error_and_an_audited_failure(settings, warehouse, monkeypatch):
    monkeypatch.delenv("OPENWEATHER_API_KEY", raising=False)
    with pytest.raises(CredentialsError, match="no API key: set OPENWEATHER_API_KEY"):
        extract_to_lake("openweather", "observations", START, END, partition="London,GB")
    status, error = warehouse.execute(
        "SELECT status, error FROM audit.ingestion_runs WHERE source = 'openweather' AND stage = 'extract'"
    ).fetchone()
    assert status == "failed"
    assert error.startswith("CredentialsError: no API key")


def test_weather_city_lands_in_its_own_batch(settings, warehouse, api):
    query = {"q": "London,GB", "units": "metric", "appid": KEY}
    api.expect_request("/data/2.5/weather", query_string=query).respond_with_json(LONDON)
    manifest, result = ingest("openweather", "observations", "London,GB")
    assert manifest["batch_id"] == "20250110T110000Z_20250110T120000Z_london-gb"
    assert (manifest["extracted"], result["loaded"], manifest["rejected"]) == (1, 1, 0)
    (payload,) = warehouse.execute("SELECT payload FROM bronze.openweather_observations").fetchone()
    assert payload == LONDON
    assert KEY not in lake_text(manifest, "raw_key")


def test_unknown_city_is_quarantined_not_fatal(settings, warehouse, api):
    api.expect_request("/data/2.5/weather").respond_with_json(CITY_NOT_FOUND, status=404)
    manifest, result = ingest("openweather", "observations", "Atlantis,XX")
    assert (manifest["extracted"], manifest["rejected"], result["loaded"]) == (1, 1, 0)
    reason, payload, batch = warehouse.execute(
        "SELECT reason, payload, batch_id FROM audit.rejected_records WHERE source = 'openweather'"
    ).fetchone()
    assert reason.startswith("HTTP 404")
    assert "city not found" in reason
    assert "Atlantis" in reason
    assert KEY not in reason
    assert payload == CITY_NOT_FOUND
    assert batch.endswith("_atlantis-xx")
    status = warehouse.execute(
        "SELECT string_agg(status, ',' ORDER BY run_id) FROM audit.ingestion_runs WHERE source = 'openweather'"
    ).fetchone()[0]
    assert status == "success,success"


def test_bad_key_fails_the_extraction_and_the_error_hides_the_key(settings, warehouse, api):
    body = {"cod": 401, "message": f"Invalid API key {KEY}. Please see https://openweathermap.org/faq#error401"}
    api.expect_request("/data/2.5/weather").respond_with_json(body, status=401)
    with pytest.raises(CredentialsError) as failure:  # a refused key: no retry can help
        extract_to_lake("openweather", "observations", START, END, partition="London,GB")
    assert "status=401" in str(failure.value)
    assert KEY not in str(failure.value)
    status, error = warehouse.execute(
        "SELECT status, error FROM audit.ingestion_runs WHERE source = 'openweather'"
    ).fetchone()
    assert status == "failed"
    assert "401" in error
    assert KEY not in error


def test_stock_days_become_one_record_each(settings, warehouse, api):
    api.expect_request("/query").respond_with_json(daily("IBM", {"2025-01-08": "220.1000", "2025-01-09": "221.0"}))
    _manifest, result = ingest("alphavantage", "daily_prices", "IBM")
    assert result["loaded"] == 2
    rows = warehouse.execute(
        "SELECT payload FROM bronze.alphavantage_daily_prices ORDER BY payload->>'date'"
    ).fetchall()
    assert rows[0][0] == {
        "symbol": "IBM",
        "date": "2025-01-08",
        "1. open": "220.1000",
        "2. high": "220.1000",
        "3. low": "220.1000",
        "4. close": "220.1000",
        "5. volume": "1000",
        "last_refreshed": "2025-01-09",
        "time_zone": "US/Eastern",
    }


def test_throttling_is_asked_again_and_recovers(settings, warehouse, api):
    answers = [
        {"Information": "Please consider spreading out your free API requests more sparingly (1 request per second)."},
        {"Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute."},
        daily("MSFT", {"2025-01-09": "420.5500"}),
    ]
    seen = []

    def handler(request):
        seen.append(request.args["symbol"])
        return Response(__import__("json").dumps(answers[len(seen) - 1]), content_type="application/json")

    api.expect_request("/query").respond_with_handler(handler)
    manifest, result = ingest("alphavantage", "daily_prices", "MSFT")
    assert seen == ["MSFT"] * 3
    assert (manifest["extracted"], result["loaded"]) == (1, 1)


def test_persistent_throttling_fails_and_never_lands_an_empty_day(settings, warehouse, api):
    api.expect_request("/query").respond_with_json({"Information": "standard API rate limit is 25 requests per day"})
    with pytest.raises(SourceThrottled, match="25 requests per day"):
        extract_to_lake("alphavantage", "daily_prices", START, END, partition="IBM")
    assert warehouse.execute("SELECT to_regclass('bronze.alphavantage_daily_prices')").fetchone()[0] is None
    assert warehouse.execute("SELECT status FROM audit.ingestion_runs").fetchone()[0] == "failed"


def test_bad_symbol_is_quarantined(settings, warehouse, api):
    api.expect_request("/query").respond_with_json({"Error Message": "Invalid API call. Please retry or visit ..."})
    manifest, result = ingest("alphavantage", "daily_prices", "NOPE")
    assert (manifest["rejected"], result["loaded"]) == (1, 0)
    reason = warehouse.execute("SELECT reason FROM audit.rejected_records").fetchone()[0]
    assert "Invalid API call" in reason
    assert "symbol=NOPE" in reason


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Error Message": "the parameter apikey is invalid or missing."}, "API key was refused"),
        ({"Meta Data": {"2. Symbol": "IBM"}}, "no 'Time Series \\(Daily\\)'"),
        ({"Meta Data": {"2. Symbol": "IBM"}, "Time Series (Daily)": {}}, "no 'Time Series \\(Daily\\)'"),
        ([], "expected a JSON object"),
    ],
)
def test_unusable_stock_answers_fail(settings, warehouse, api, body, message):
    api.expect_request("/query").respond_with_json(body)
    with pytest.raises(ExtractError, match=message):
        extract_to_lake("alphavantage", "daily_prices", START, END, partition="IBM")


def test_bad_day_is_quarantined_and_the_others_load(settings, warehouse, api):
    body = daily("IBM", {"2025-01-08": "220.1000", "2025-01-09": "n/a"})
    api.expect_request("/query").respond_with_json(body)
    manifest, result = ingest("alphavantage", "daily_prices", "IBM")
    assert (manifest["extracted"], manifest["rejected"], result["loaded"]) == (2, 1, 1)
    assert warehouse.execute("SELECT path FROM audit.rejected_records").fetchone()[0] == "$['4. close']"


def test_orders_ask_for_the_batch_as_of_the_interval_end(settings, warehouse, api, monkeypatch):
    monkeypatch.setenv("ORDERS_BATCH_SIZE", "2")
    order = {"customer_id": 3, "status": "pending", "amount": 12.5, "currency": "EUR"}
    stamps = {"created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-10T12:00:00Z"}
    api.expect_request("/orders", query_string={"as_of": "2025-01-10T12:00:00Z", "size": "2"}).respond_with_json(
        [{"order_id": 1, **order, **stamps}, {"order_id": 2, **order, **stamps, "status": "lost"}]
    )
    manifest, result = ingest("orders", "orders")
    assert (manifest["extracted"], manifest["rejected"], result["loaded"]) == (2, 1, 1)
