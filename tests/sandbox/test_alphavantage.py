"""The Alpha Vantage TIME_SERIES_DAILY emulation: shape, trading calendar, clock, prices, CSV, HTTP-200 errors,
throttling, and faults matched on query parameters."""

from __future__ import annotations

import itertools
import math
from datetime import date, timedelta

import pytest

from python_scripts.sandbox import SYMBOLS, AlphaVantage, AlphaVantageConfig, FakeStoreConfig, SandboxConfig
from tests.sandbox.support import CONFIG, NOW, validate

QUERY = "/query"
KEY = "test-key"
PREMIUM = "https://www.alphavantage.co/premium/"
INVALID_CALL = {
    "Error Message": "Invalid API call. Please retry or visit the documentation "
    "(https://www.alphavantage.co/documentation/) for TIME_SERIES_DAILY."
}
INVALID_KEY = {
    "Error Message": "the parameter apikey is invalid or missing. Please claim your free API key on "
    "(https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds."
}
PREMIUM_FULL = {
    "Information": "Thank you for using Alpha Vantage! The outputsize=full parameter value is a premium feature "
    f"for the TIME_SERIES_DAILY endpoint. You may subscribe to any of the premium plans at {PREMIUM} to instantly "
    "unlock all premium features"
}
# US market holidays as observed (NYSE), plus the national day of mourning of 9 January 2025.
HOLIDAYS = {
    date.fromisoformat(day)
    for day in (
        "2023-01-02", "2023-01-16", "2023-02-20", "2023-04-07", "2023-05-29", "2023-06-19", "2023-07-04",
        "2023-09-04", "2023-11-23", "2023-12-25",
        "2024-01-01", "2024-01-15", "2024-02-19", "2024-03-29", "2024-05-27", "2024-06-19", "2024-07-04",
        "2024-09-02", "2024-11-28", "2024-12-25",
        "2025-01-01", "2025-01-09", "2025-01-20", "2025-02-17", "2025-04-18", "2025-05-26", "2025-06-19",
        "2025-07-04", "2025-09-01", "2025-11-27", "2025-12-25",
        "2026-01-01", "2026-01-19", "2026-02-16", "2026-04-03", "2026-05-25", "2026-06-19", "2026-07-03",
        "2026-09-07", "2026-11-26", "2026-12-25",
    )
}  # fmt: skip
PRICE = {"type": "string", "pattern": r"^\d+\.\d{4}$"}
DAILY_SCHEMA = {
    "type": "object",
    "required": ["Meta Data", "Time Series (Daily)"],
    "additionalProperties": False,
    "properties": {
        "Meta Data": {
            "type": "object",
            "required": ["1. Information", "2. Symbol", "3. Last Refreshed", "4. Output Size", "5. Time Zone"],
            "additionalProperties": False,
            "properties": {
                "1. Information": {"const": "Daily Prices (open, high, low, close) and Volumes"},
                "2. Symbol": {"type": "string", "minLength": 1},
                "3. Last Refreshed": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                "4. Output Size": {"enum": ["Compact", "Full size"]},
                "5. Time Zone": {"const": "US/Eastern"},
            },
        },
        "Time Series (Daily)": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": r"^\d{4}-\d{2}-\d{2}$"},
            "additionalProperties": {
                "type": "object",
                "required": ["1. open", "2. high", "3. low", "4. close", "5. volume"],
                "additionalProperties": False,
                "properties": {
                    "1. open": PRICE,
                    "2. high": PRICE,
                    "3. low": PRICE,
                    "4. close": PRICE,
                    "5. volume": {"type": "string", "pattern": r"^[1-9]\d*$"},
                },
            },
        },
    },
}
ERROR_SCHEMA = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
    "propertyNames": {"enum": ["Error Message", "Information", "Note"]},
    "additionalProperties": {"type": "string", "minLength": 20},
}


def daily(client, **params):
    return client.get(QUERY, **{"function": "TIME_SERIES_DAILY", "apikey": KEY, **params})


def trading_days(first: date, last: date) -> list[date]:
    """Weekdays that are not holidays, oldest first (only for 2023-2026, where HOLIDAYS is complete)."""
    assert first.year >= 2023
    assert last.year <= 2026
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [day for day in days if day.weekday() < 5 and day not in HOLIDAYS]


def check_bars(series: dict[str, dict[str, str]]) -> None:
    """The price invariants of every bar, and plausible moves between consecutive closes."""
    closes = []
    for values in series.values():
        o, h, lo, c = (float(values[key]) for key in ("1. open", "2. high", "3. low", "4. close"))
        assert 0 < lo <= min(o, c) <= max(o, c) <= h
        assert int(values["5. volume"]) > 0
        closes.append(c)
    assert all(abs(math.log(a / b)) < 0.4 for a, b in itertools.pairwise(closes))


# --- shape and calendar --------------------------------------------------------------------------


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_compact_is_the_latest_100_trading_days_newest_first(sandbox, symbol):
    response = daily(sandbox, symbol=symbol)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    validate(body, DAILY_SCHEMA)
    assert body["Meta Data"] == {
        "1. Information": "Daily Prices (open, high, low, close) and Volumes",
        "2. Symbol": symbol,
        "3. Last Refreshed": "2025-01-08",  # 9 January closed, 10 January not closed yet at 12:00 UTC
        "4. Output Size": "Compact",
        "5. Time Zone": "US/Eastern",
    }
    expected = [day.isoformat() for day in trading_days(date(2024, 1, 2), date(2025, 1, 8))[-100:]]
    assert list(body["Time Series (Daily)"]) == expected[::-1]
    check_bars(body["Time Series (Daily)"])


def test_the_known_symbols():
    assert SYMBOLS == ("IBM", "AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "TSLA", "META", "JPM", "KO")


def test_the_symbol_is_matched_in_any_case(sandbox):
    assert daily(sandbox, symbol="ibm").json() == daily(sandbox, symbol="IBM").json()


@pytest.mark.parametrize(
    ("now", "last"),
    [
        ("2025-01-10T20:59:59Z", "2025-01-08"),
        ("2025-01-10T21:00:00Z", "2025-01-10"),
        ("2025-01-12T09:00:00Z", "2025-01-10"),  # Sunday
        ("2025-01-20T23:00:00Z", "2025-01-17"),  # Martin Luther King Jr. Day
        ("2025-01-21T16:00:00-05:00", "2025-01-21"),
        ("2024-12-25T22:00:00Z", "2024-12-24"),
        ("2024-07-05T21:00:00Z", "2024-07-05"),
        ("2026-07-04T12:00:00Z", "2026-07-02"),  # 3 July observed
    ],
)
def test_the_latest_day_follows_the_sandbox_clock(sandbox, now, last):
    sandbox.set_clock(now)
    body = daily(sandbox, symbol="MSFT").json()
    assert body["Meta Data"]["3. Last Refreshed"] == last
    series = list(body["Time Series (Daily)"])
    assert series[0] == last
    expected = [day.isoformat() for day in trading_days(date(2023, 1, 3), date.fromisoformat(last))[-100:]]
    assert series == expected[::-1]


def test_a_bar_does_not_depend_on_the_clock_or_the_output_size(serve):
    client = serve(SandboxConfig(alphavantage=AlphaVantageConfig(full_is_premium=False), now=NOW))
    compact = daily(client, symbol="AAPL").json()["Time Series (Daily)"]
    full = daily(client, symbol="AAPL", outputsize="full")
    body = full.json()
    validate(body, DAILY_SCHEMA)
    assert body["Meta Data"]["4. Output Size"] == "Full size"
    series = body["Time Series (Daily)"]
    assert list(series)[:100] == list(compact)
    assert {day: series[day] for day in compact} == compact
    assert list(series)[-1] == "2015-01-02"
    assert list(series) == sorted(series, reverse=True)
    assert all(date.fromisoformat(day).weekday() < 5 for day in series)
    assert [d for d in series if "2023-01-03" <= d <= "2025-01-08"] == [
        day.isoformat() for day in reversed(trading_days(date(2023, 1, 3), date(2025, 1, 8)))
    ]
    check_bars(series)
    client.set_clock("2025-06-30T23:00:00Z")
    later = daily(client, symbol="AAPL", outputsize="full").json()["Time Series (Daily)"]
    assert len(later) > len(series)
    assert {day: later[day] for day in series} == series
    client.set_clock("2024-03-01T12:00:00Z")
    earlier = daily(client, symbol="AAPL").json()["Time Series (Daily)"]
    assert {day: series[day] for day in earlier} == earlier


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_every_bar_keeps_low_open_close_high_in_order(symbol):
    prices = AlphaVantage(AlphaVantageConfig(seed=5))
    bars = prices.bars(symbol, full=True, now=NOW + timedelta(days=700))
    assert len(bars) > 2500
    for bar in bars:
        assert 0 < float(bar.low) <= min(float(bar.open), float(bar.close))
        assert max(float(bar.open), float(bar.close)) <= float(bar.high)
        assert int(bar.volume) > 0


# --- CSV -----------------------------------------------------------------------------------------


def test_csv_serves_the_same_bars_as_json(sandbox):
    response = daily(sandbox, symbol="KO", datatype="csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0] == "timestamp,open,high,low,close,volume"
    series = daily(sandbox, symbol="KO").json()["Time Series (Daily)"]
    assert lines[1:] == [",".join([day, *values.values()]) for day, values in series.items()]
    assert len(lines) == 101


# --- HTTP-200 errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"symbol": "IBM", "apikey": ""}, INVALID_KEY),
        ({"symbol": "IBM", "apikey": None}, INVALID_KEY),
        ({"symbol": "NOPE"}, INVALID_CALL),
        ({"symbol": ""}, INVALID_CALL),
        ({}, INVALID_CALL),
        ({"symbol": "IBM", "function": "TIME_SERIES_WEEKLY"}, INVALID_CALL),
        ({"symbol": "IBM", "function": None}, INVALID_CALL),
        ({"symbol": "IBM", "outputsize": "huge"}, INVALID_CALL),
        ({"symbol": "IBM", "datatype": "xml"}, INVALID_CALL),
        ({"symbol": "IBM", "outputsize": "full"}, PREMIUM_FULL),
        ({"symbol": "IBM", "outputsize": "full", "datatype": "csv"}, PREMIUM_FULL),
    ],
)
def test_errors_answer_http_200_with_the_real_bodies(sandbox, params, expected):
    response = daily(sandbox, **params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    validate(response.json(), ERROR_SCHEMA)
    assert response.json() == expected


def test_a_configured_key_is_the_only_one_accepted(serve):
    client = serve(SandboxConfig(alphavantage=AlphaVantageConfig(api_key="s3cret"), now=NOW))
    # pragma: allowlist nextline secret
    assert client.get(QUERY, function="TIME_SERIES_DAILY", symbol="IBM", apikey="other").json() == INVALID_KEY
    # pragma: allowlist nextline secret
    assert "Meta Data" in client.get(QUERY, function="TIME_SERIES_DAILY", symbol="IBM", apikey="s3cret").json()


def test_the_daily_limit_refuses_each_key_until_the_next_day(serve):
    client = serve(SandboxConfig(alphavantage=AlphaVantageConfig(requests_per_day=2), now=NOW))
    assert daily(client, symbol="IBM", apikey="").json() == INVALID_KEY  # refused keys do not count
    assert "Meta Data" in daily(client, symbol="IBM", apikey="k1").json()  # pragma: allowlist secret
    # pragma: allowlist nextline secret
    assert daily(client, symbol="NOPE", apikey="k1").json() == INVALID_CALL  # a bad call still counts
    refused = daily(client, symbol="IBM", apikey="k1")
    assert refused.status_code == 200
    assert refused.json() == {
        "Information": "We have detected your API key as k1 and our standard API rate limit is 25 requests per "
        f"day. Please subscribe to any of the premium plans at {PREMIUM} to instantly remove all daily rate limits."
    }
    assert "Meta Data" in daily(client, symbol="IBM", apikey="k2").json()  # pragma: allowlist secret
    client.set_clock("2025-01-11T00:00:00Z")
    assert "Meta Data" in daily(client, symbol="IBM", apikey="k1").json()  # pragma: allowlist secret
    client.set_clock(None)
    assert "Information" in daily(client, symbol="IBM", apikey="k1").json()  # pragma: allowlist secret
    client.clear("quotas")
    assert "Meta Data" in daily(client, symbol="IBM", apikey="k1").json()  # pragma: allowlist secret


def test_requests_closer_than_the_minimum_interval_are_refused(serve):
    client = serve(SandboxConfig(alphavantage=AlphaVantageConfig(min_interval=30), now=NOW))
    assert "Meta Data" in daily(client, symbol="TSLA").json()
    assert daily(client, symbol="TSLA").json() == {
        "Information": "Thank you for using Alpha Vantage! Please consider spreading out your free API requests "
        f"more sparingly (1 request per second). You may subscribe to any of the premium plans at {PREMIUM} to "
        "lift the free key rate limit (25 requests per day), raise the per-second burst limit, and instantly "
        "unlock all premium endpoints"
    }
    assert "Meta Data" in daily(client, symbol="TSLA", apikey="another").json()  # pragma: allowlist secret
    client.clear("quotas")
    assert "Meta Data" in daily(client, symbol="TSLA").json()


def test_the_legacy_note_form_can_be_configured(serve):
    config = AlphaVantageConfig(min_interval=30, requests_per_day=1, legacy_note=True)
    client = serve(SandboxConfig(alphavantage=config, now=NOW))
    assert "Meta Data" in daily(client, symbol="META").json()
    note = {
        "Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and 500 "
        f"calls per day. Please visit {PREMIUM} if you would like to target a higher API call frequency."
    }
    assert daily(client, symbol="META").json() == note
    client.clear("quotas")
    assert "Meta Data" in daily(client, symbol="META").json()


def test_full_output_can_be_allowed(serve):
    client = serve(SandboxConfig(alphavantage=AlphaVantageConfig(full_is_premium=False), now=NOW))
    body = daily(client, symbol="NVDA", outputsize="full", datatype="csv")
    assert body.headers["content-type"].startswith("text/csv")
    assert body.text.splitlines()[-1].startswith("2015-01-02,")


# --- faults matched on query parameters ----------------------------------------------------------


def test_a_fault_can_match_query_parameters(sandbox):
    information = {"Information": "Thank you for using Alpha Vantage! Please consider spreading out your requests."}
    fault = {
        "kind": "status",
        "status": 200,
        "body": information,
        "path": "/query",
        "params": {"symbol": "IBM"},
        "times": 1,
    }
    response = sandbox.control("faults", fault)
    assert response.status_code == 201
    assert response.json()["params"] == {"symbol": "IBM"}
    assert "Meta Data" in daily(sandbox, symbol="MSFT").json()
    assert "Meta Data" in daily(sandbox, symbol="ibm").json()  # values match exactly
    served = daily(sandbox, symbol="IBM")
    assert (served.status_code, served.json()) == (200, information)
    assert "Meta Data" in daily(sandbox, symbol="IBM").json()
    log = sandbox.get("/__sandbox/requests").json()
    assert [(entry["params"].get("symbol"), entry["fault"]) for entry in log] == [
        ("MSFT", None),
        ("ibm", None),
        ("IBM", "status"),
        ("IBM", None),
    ]


def test_a_fault_on_parameters_can_serve_the_older_note_form_after_some_requests(sandbox):
    note = {"Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute."}
    fault = {"path": "/query", "params": {"symbol": "A*", "outputsize": "compact"}, "status": 200, "body": note}
    sandbox.control("faults", {**fault, "after": 1, "times": 2})
    assert "Meta Data" in daily(sandbox, symbol="AAPL", outputsize="compact").json()
    assert "Meta Data" in daily(sandbox, symbol="AAPL").json()  # no outputsize parameter: no match
    assert daily(sandbox, symbol="AMZN", outputsize="compact").json() == note
    assert "Meta Data" in daily(sandbox, symbol="KO", outputsize="compact").json()
    assert daily(sandbox, symbol="AAPL", outputsize="compact").json() == note
    assert "Meta Data" in daily(sandbox, symbol="AAPL", outputsize="compact").json()


def test_a_parameter_fault_works_on_any_source(sandbox):
    sandbox.control("faults", {"path": "/data/2.5/weather", "params": {"q": "Paris*"}, "status": 503})
    assert sandbox.get("/data/2.5/weather", q="London", appid=KEY).status_code == 200
    assert sandbox.get("/data/2.5/weather", q="Paris,FR", appid=KEY).status_code == 503


@pytest.mark.parametrize("params", [["symbol", "IBM"], {"symbol": 1}, {"symbol": ["IBM"]}, "symbol=IBM"])
def test_invalid_fault_params_answer_400(sandbox, params):
    assert sandbox.control("faults", {"path": "/query", "params": params}).status_code == 400


# --- determinism ---------------------------------------------------------------------------------


def bodies(client) -> list[bytes]:
    return [daily(client, symbol=symbol, datatype=kind).content for symbol in SYMBOLS for kind in ("json", "csv")]


def test_the_same_config_serves_the_same_bytes_and_another_seed_does_not(sandbox, serve):
    assert bodies(serve(CONFIG)) == bodies(sandbox)
    other = bodies(serve(SandboxConfig(fakestore=FakeStoreConfig(seed=43), now=NOW)))
    assert all(a != b for a, b in zip(other, bodies(sandbox), strict=True))


def test_the_python_api_serves_the_same_answer(sandbox):
    prices = AlphaVantage(CONFIG.alphavantage)
    for symbol in SYMBOLS:
        assert prices.daily(symbol, now=NOW) == daily(sandbox, symbol=symbol).json()
