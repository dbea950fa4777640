"""
### Stocks ingest

Daily prices from Alpha Vantage (`TIME_SERIES_DAILY`, compact: the latest 100 trading days) for the
tickers in `STOCK_TICKERS` (comma-separated).

* **extract** (one mapped task per ticker, in the pool `alphavantage` of one slot, so requests never
  overlap and stay inside the free tier's burst limit): key from the Airflow connection `alphavantage`
  or `ALPHAVANTAGE_API_KEY`, masked in the logs. The API reports errors with HTTP 200: `Information` /
  `Note` (throttling) is asked again a few times and then fails the task for Airflow to retry later;
  `Error Message` for a bad symbol is quarantined; none of them is ever taken for an empty day.
* **load**: one batch per ticker into `bronze.alphavantage_daily_prices` (one row per ticker and day).
* **publish_bronze**: the Asset event of `bronze.alphavantage_daily_prices`.
* **transform**: `stg_alphavantage__daily_prices` → `int_alphavantage__daily_prices` (the newest batch per
  ticker and day) → `fct_stock_prices_daily` (incremental merge on ticker and date, so history outlives the
  API's 100-day window) → `mart_stock_performance`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import requests
from pydantic import SecretStr

from python_scripts.ingest.http import CredentialsError, ExtractError, Quarantined, Request, SourceThrottled
from python_scripts.settings import listing, setting
from python_scripts.sources.base import Call, Dag, Entity, Source, SourceSettings


class AlphaVantageSettings(SourceSettings):
    base_url: str = setting(
        "https://www.alphavantage.co", "ALPHAVANTAGE_BASE_URL", "The Alpha Vantage API (unset: the sandbox)."
    )
    api_key: SecretStr | None = setting(
        None, "ALPHAVANTAGE_API_KEY", "Alpha Vantage key (or the Airflow connection `alphavantage`, which wins)."
    )
    tickers: listing(",", min_items=1) = setting(
        ("IBM", "AAPL", "MSFT", "NVDA", "TSLA"),
        "STOCK_TICKERS",
        "Comma-separated tickers, one mapped extraction each (the free tier allows 25 requests a day).",
        empty_is_error=True,
    )


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
            raise CredentialsError(url, "the API key was refused", 200, message)
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


SOURCE = Source(
    name="alphavantage",
    settings=AlphaVantageSettings,
    api_key_param="apikey",  # pragma: allowlist secret
    entities=(
        Entity(
            "daily_prices",
            "/query",
            params=_prices_params,
            reader=alphavantage_daily,
            partitions=lambda config: config.tickers,
            key=("symbol", "date"),
        ),
    ),
    dag=Dag("stocks_ingest", cron="0 0 * * *", extract_pool="alphavantage"),
    doc=__doc__,
    sandboxed=True,
)
