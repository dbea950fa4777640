"""stocks_ingest end to end through Airflow: one mapped task per ticker in the Alpha Vantage pool, HTTP-200
throttling met first and recovered from, a bad symbol quarantined, the incremental fact equal to a full
refresh, and the mart's returns, moving averages and volatility checked against plain Python."""

from __future__ import annotations

import statistics
from decimal import Decimal

import pytest

from tests.support.pipeline import STOCK_TICKERS

pytestmark = pytest.mark.e2e

RUNS = ("2025-03-04T00:00:00+00:00", "2025-03-05T00:00:00+00:00")
KNOWN = [ticker for ticker in STOCK_TICKERS if ticker != "NOPE"]
THROTTLED = {
    "Information": "Please consider spreading out your free API requests more sparingly (1 request per second)."
}
FACT_QUERY = (
    "SELECT ticker, trade_date, open_price, high_price, low_price, close_price, volume "
    "FROM core.fct_stock_prices_daily ORDER BY 1, 2"
)


def fact_rows(wh) -> list[tuple]:
    return wh.execute(FACT_QUERY).fetchall()


@pytest.fixture(scope="module")
def pipeline(run, wh, api, dbt):
    wh.reset()
    state: dict = {"served": {ticker: {} for ticker in KNOWN}}
    try:
        for logical_date in RUNS:
            api.set_clock(logical_date)
            for ticker in KNOWN:
                body = api.get("/query", function="TIME_SERIES_DAILY", symbol=ticker, apikey="any")
                state["served"][ticker].update(body["Time Series (Daily)"])
            if logical_date == RUNS[0]:  # the pipeline's first request for IBM meets throttling
                api.clear_requests()
                api.add_fault(kind="status", status=200, body=THROTTLED, path="/query", params={"symbol": "IBM"})
            run("stocks_ingest", logical_date)
            if logical_date == RUNS[0]:
                state["first_run_requests"] = [
                    r for r in api.requests() if r["path"] == "/query" and r["params"].get("apikey") != "any"
                ]
    finally:
        api.set_clock(None)
        api.clear_faults()
    state["fact"] = fact_rows(wh)
    state["mart"] = wh.execute(
        "SELECT ticker, trade_date::text, close_price, daily_return, moving_average_7d, moving_average_30d, "
        "moving_average_90d, volatility_30d FROM marts.mart_stock_performance ORDER BY 1, 2"
    ).fetchall()
    dbt("run", "--full-refresh", "--select", "fct_stock_prices_daily")
    state["full_refresh_fact"] = fact_rows(wh)
    return state


def expected_performance(days: dict[str, dict]) -> list[tuple]:
    """Return, 7/30/90-day moving averages of the close and 30-day volatility, in plain Python."""
    dates = sorted(days)
    closes = [Decimal(days[d]["4. close"]) for d in dates]
    returns = [None] + [closes[i] / closes[i - 1] - 1 for i in range(1, len(closes))]
    rows = []
    for i, day in enumerate(dates):

        def moving_average(n: int, i: int = i) -> Decimal | None:
            return sum(closes[i - n + 1 : i + 1]) / n if i + 1 >= n else None

        window = [r for r in returns[max(0, i - 29) : i + 1] if r is not None]
        volatility = Decimal(statistics.stdev(window)) if len(window) >= 30 else None
        rows.append((day, closes[i], returns[i], moving_average(7), moving_average(30), moving_average(90), volatility))
    return rows


def close_enough(actual, expected, tolerance: str) -> bool:
    if expected is None or actual is None:
        return actual is None and expected is None
    return abs(Decimal(actual) - Decimal(expected)) <= Decimal(tolerance)


def test_throttled_ticker_was_asked_again_and_recovered(pipeline, wh):
    ibm = [r for r in pipeline["first_run_requests"] if r["params"].get("symbol") == "IBM"]
    assert [r["fault"] for r in ibm] == ["status", None]
    loads = wh.execute(
        "SELECT batch_id, status FROM audit.ingestion_runs WHERE source = 'alphavantage' AND stage = 'load' "
        "AND batch_id LIKE '%%_ibm'"
    ).fetchall()
    assert len(loads) == 2
    assert {status for _, status in loads} == {"success"}


def test_bad_symbol_is_quarantined_and_the_other_tickers_load(pipeline, wh):
    rows = wh.execute("SELECT batch_id, reason FROM audit.rejected_records WHERE source = 'alphavantage'").fetchall()
    assert len(rows) == len(RUNS)
    assert all(batch.endswith("_nope") and "Invalid API call" in reason for batch, reason in rows)
    tickers = wh.execute("SELECT DISTINCT payload->>'symbol' FROM bronze.alphavantage_daily_prices").fetchall()
    assert sorted(t for (t,) in tickers) == sorted(KNOWN)


def test_fact_keeps_the_union_of_every_window_served(pipeline):
    served = {(t, d) for t, days in pipeline["served"].items() for d in days}
    assert {(t, f"{d:%Y-%m-%d}") for t, d, *_ in pipeline["fact"]} == served
    assert len(served) == len(KNOWN) * 101  # two compact windows, one trading day apart


def test_incremental_fact_equals_a_full_refresh(pipeline):
    assert pipeline["fact"] == pipeline["full_refresh_fact"]


def test_mart_matches_a_plain_python_computation(pipeline):
    mart = {}
    for ticker, day, *values in pipeline["mart"]:
        mart[(ticker, day)] = values
    checked = 0
    for ticker, days in pipeline["served"].items():
        for day, close, ret, ma7, ma30, ma90, vol in expected_performance(days):
            got = mart[(ticker, day)]
            assert got[0] == close
            assert close_enough(got[1], ret, "0.00000001"), (ticker, day, "return")
            for actual, expected in zip(got[2:5], (ma7, ma30, ma90), strict=True):
                assert close_enough(actual, expected, "0.0001"), (ticker, day, "moving average")
            assert close_enough(got[5], vol, "0.00000001"), (ticker, day, "volatility")
            checked += 1
    assert checked == len(mart) == len(KNOWN) * 101
    assert any(row[6] is not None for row in pipeline["mart"])  # 101 days reach the 90-day window
    assert any(row[7] is not None for row in pipeline["mart"])
