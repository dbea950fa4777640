"""Alpha Vantage daily prices (``/query?function=TIME_SERIES_DAILY``): deterministic series of a few tickers.

Each ticker's series is a seeded geometric random walk over the NYSE trading days from
:data:`SERIES_START`, pulled back towards a per-ticker trend so prices stay plausible for decades. It is
generated once per (seed, ticker), in order, and only ever extended, so the bar of a day never depends on
the clock or the output size. A day is served once its close (:data:`CLOSE_UTC` that day) is at or before
the sandbox clock.

Like the real service, every answer is HTTP 200: errors, throttling and premium features come back as a
JSON object with one ``Error Message``, ``Information`` or (older) ``Note`` key instead of data.
"""

from __future__ import annotations

import bisect
import functools
import math
import random
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from operator import attrgetter
from typing import Any, NamedTuple

from fastapi import APIRouter, Request
from fastapi.responses import Response

from python_scripts.sandbox.clock import SandboxClock
from python_scripts.sandbox.fakestore import FakeStoreConfig
from python_scripts.sandbox.quotas import DailyQuota, SpacingQuota
from python_scripts.sandbox.web import Source, json_response

SOURCE = "alphavantage"
PATH = "/query"
FUNCTION = "TIME_SERIES_DAILY"
SERIES_START = date(2015, 1, 2)
CLOSE_UTC = time(21, 0)
COMPACT_DAYS = 100
DEFAULT_SEED = FakeStoreConfig.seed
CSV_HEADER = "timestamp,open,high,low,close,volume"

_PREMIUM = "https://www.alphavantage.co/premium/"
INVALID_CALL = (
    "Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) "
    "for TIME_SERIES_DAILY."
)
INVALID_KEY = (
    "the parameter apikey is invalid or missing. Please claim your free API key on "
    "(https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds."
)
PREMIUM_FULL = (
    "Thank you for using Alpha Vantage! The outputsize=full parameter value is a premium feature for the "
    f"TIME_SERIES_DAILY endpoint. You may subscribe to any of the premium plans at {_PREMIUM} to instantly "
    "unlock all premium features"
)
DAILY_LIMIT = (
    "We have detected your API key as {apikey} and our standard API rate limit is 25 requests per day. "
    f"Please subscribe to any of the premium plans at {_PREMIUM} to instantly remove all daily rate limits."
)
BURST_LIMIT = (
    "Thank you for using Alpha Vantage! Please consider spreading out your free API requests more sparingly "
    f"(1 request per second). You may subscribe to any of the premium plans at {_PREMIUM} to lift the free key "
    "rate limit (25 requests per day), raise the per-second burst limit, and instantly unlock all premium endpoints"
)
LEGACY_NOTE = (
    "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and 500 calls per "
    f"day. Please visit {_PREMIUM} if you would like to target a higher API call frequency."
)


class Ticker(NamedTuple):
    """How a ticker's series is drawn: the close on :data:`SERIES_START`, the yearly trend of the log price,
    the daily volatility and the typical daily volume."""

    symbol: str
    start_price: float
    trend: float
    volatility: float
    volume: int


TICKERS: dict[str, Ticker] = {
    t.symbol: t
    for t in (
        Ticker("IBM", 155.0, 0.035, 0.013, 4_500_000),
        Ticker("AAPL", 27.0, 0.218, 0.017, 60_000_000),
        Ticker("MSFT", 46.0, 0.221, 0.016, 25_000_000),
        Ticker("GOOGL", 26.5, 0.197, 0.017, 30_000_000),
        Ticker("AMZN", 15.5, 0.265, 0.019, 45_000_000),
        Ticker("NVDA", 0.5, 0.56, 0.029, 250_000_000),
        Ticker("TSLA", 14.5, 0.33, 0.034, 95_000_000),
        Ticker("META", 78.0, 0.204, 0.02, 18_000_000),
        Ticker("JPM", 62.0, 0.135, 0.014, 10_000_000),
        Ticker("KO", 42.0, 0.039, 0.009, 14_000_000),
    )
}
SYMBOLS = tuple(TICKERS)
# Whole-day closures outside the yearly rules (national days of mourning).
SPECIAL_CLOSURES = frozenset({date(2018, 12, 5), date(2025, 1, 9)})
_REVERSION = 0.01
_TRADING_YEAR = 252


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The ``n``-th ``weekday`` (Monday 0) of a month; ``n`` = -1 for the last."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _easter(year: int) -> date:
    """Western Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _observed(day: date) -> date:
    """A fixed-date holiday falling on a weekend is taken on the Friday before or the Monday after."""
    return day - timedelta(days=1) if day.weekday() == 5 else day + timedelta(days=1) if day.weekday() == 6 else day


@functools.cache
def market_holidays(year: int) -> frozenset[date]:
    """NYSE full-day holidays of a year, as observed, plus :data:`SPECIAL_CLOSURES`."""
    new_year = date(year, 1, 1)
    days = {
        # A Saturday New Year's Day is not observed on the Friday before (that Friday ends the previous year).
        *([] if new_year.weekday() == 5 else [_observed(new_year)]),
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        _easter(year) - timedelta(days=2),  # Good Friday
        _nth_weekday(year, 5, 0, -1),  # Memorial Day
        *([_observed(date(year, 6, 19))] if year >= 2022 else []),  # Juneteenth
        _observed(date(year, 7, 4)),  # Independence Day
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
        _observed(date(year, 12, 25)),  # Christmas
    }
    return frozenset(days | {day for day in SPECIAL_CLOSURES if day.year == year})


def is_trading_day(day: date) -> bool:
    return day.weekday() < 5 and day not in market_holidays(day.year)


def trading_days(start: date = SERIES_START) -> Iterator[date]:
    """Every trading day from ``start`` on, in order (endless)."""
    day = start
    while True:
        if is_trading_day(day):
            yield day
        day += timedelta(days=1)


def last_closed_day(now: datetime) -> date:
    """The latest trading day whose close is at or before ``now``."""
    day = now.astimezone(UTC).date()
    if now < datetime.combine(day, CLOSE_UTC, UTC):
        day -= timedelta(days=1)
    while not is_trading_day(day):
        day -= timedelta(days=1)
    return day


class Bar(NamedTuple):
    """One trading day, every value formatted as the API serves it."""

    day: str
    open: str
    high: str
    low: str
    close: str
    volume: str


class Series:
    """The daily bars of one ticker for one seed, generated in order and extended on demand."""

    def __init__(self, ticker: Ticker, seed: int) -> None:
        self.ticker = ticker
        self.bars: list[Bar] = []
        self._lock = threading.Lock()
        self._rng = random.Random(f"{seed}/{SOURCE}/{ticker.symbol}")
        self._days = trading_days()
        self._log_close = math.log(ticker.start_price)

    def until(self, last: date) -> list[Bar]:
        """The bars up to and including ``last``, oldest first."""
        end = last.isoformat()
        with self._lock:
            while not self.bars or self.bars[-1].day < end:
                self.bars.append(self._next())
            bars = self.bars
        return bars[: bisect.bisect_right(bars, end, key=attrgetter("day"))]

    def _next(self) -> Bar:
        ticker, gauss = self.ticker, self._rng.gauss
        sigma = ticker.volatility
        index = len(self.bars)
        trend = math.log(ticker.start_price) + ticker.trend * index / _TRADING_YEAR
        move = ticker.trend / _TRADING_YEAR - _REVERSION * (self._log_close - trend) + sigma * gauss(0, 1)
        previous = math.exp(self._log_close)
        opening = previous * math.exp(0.3 * sigma * gauss(0, 1))
        self._log_close += move
        closing = math.exp(self._log_close)
        high = max(opening, closing) * math.exp(0.4 * sigma * abs(gauss(0, 1)))
        low = min(opening, closing) * math.exp(-0.4 * sigma * abs(gauss(0, 1)))
        volume = round(ticker.volume * math.exp(0.35 * gauss(0, 1) + 8 * abs(move)))
        o, h, lo, c = (f"{max(round(price, 2), 0.01):.4f}" for price in (opening, high, low, closing))
        return Bar(next(self._days).isoformat(), o, h, lo, c, str(volume))


@dataclass(frozen=True)
class AlphaVantageConfig:
    """What to serve. ``seed`` None: the sandbox seed. ``api_key`` empty: any non-empty ``apikey`` is accepted.
    ``full_is_premium``: ``outputsize=full`` is refused, as for free keys. ``requests_per_day`` (0: no limit)
    and ``min_interval`` (seconds between one key's requests; 0: none) throttle each key; ``legacy_note``
    answers throttled requests in the older ``{"Note": ...}`` form."""

    seed: int | None = None
    api_key: str = ""
    full_is_premium: bool = True
    requests_per_day: int = 0
    min_interval: float = 0.0
    legacy_note: bool = False

    def __post_init__(self) -> None:
        if self.requests_per_day < 0 or self.min_interval < 0:
            raise ValueError("requests_per_day and min_interval must be >= 0")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class AlphaVantage:
    """Daily series of :data:`TICKERS` for one config, cut at the sandbox clock."""

    def __init__(self, config: AlphaVantageConfig | None = None, clock: SandboxClock | None = None) -> None:
        self.config = config or AlphaVantageConfig()
        self.clock = clock or SandboxClock()
        self.seed = DEFAULT_SEED if self.config.seed is None else self.config.seed
        self.daily_quota = DailyQuota(self.config.requests_per_day)
        self.spacing = SpacingQuota(self.config.min_interval)
        self._series = {symbol: Series(ticker, self.seed) for symbol, ticker in TICKERS.items()}

    def bars(self, symbol: str, full: bool = False, now: datetime | None = None) -> list[Bar]:
        """The served bars of a known ticker at ``now`` (default: the sandbox clock), newest first."""
        last = last_closed_day(now or self.clock.now())
        bars = self._series[symbol].until(last) if last >= SERIES_START else []
        return bars[::-1] if full else bars[: -COMPACT_DAYS - 1 : -1]

    def daily(self, symbol: str, full: bool = False, now: datetime | None = None) -> dict[str, Any] | None:
        """The JSON answer for a known ticker, or None before its first close."""
        bars = self.bars(symbol, full, now)
        if not bars:
            return None
        meta = {
            "1. Information": "Daily Prices (open, high, low, close) and Volumes",
            "2. Symbol": symbol,
            "3. Last Refreshed": bars[0].day,
            "4. Output Size": "Full size" if full else "Compact",
            "5. Time Zone": "US/Eastern",
        }
        series = {
            bar.day: {
                "1. open": bar.open,
                "2. high": bar.high,
                "3. low": bar.low,
                "4. close": bar.close,
                "5. volume": bar.volume,
            }
            for bar in bars
        }
        return {"Meta Data": meta, "Time Series (Daily)": series}

    def csv(self, symbol: str, full: bool = False, now: datetime | None = None) -> str | None:
        bars = self.bars(symbol, full, now)
        if not bars:
            return None
        return "\r\n".join([CSV_HEADER, *(",".join(bar) for bar in bars)]) + "\r\n"

    def throttled(self, apikey: str) -> dict[str, str] | None:
        """The answer to a request refused by a quota, or None when the request counts and may proceed."""
        if self.spacing.allow(apikey):
            if self.daily_quota.allow(apikey, self.clock.now().date()):
                return None
            message = DAILY_LIMIT.format(apikey=apikey)
        else:
            message = BURST_LIMIT
        return {"Note": LEGACY_NOTE} if self.config.legacy_note else {"Information": message}


def router(prices: AlphaVantage) -> APIRouter:
    api = APIRouter(tags=[SOURCE])

    @api.get(PATH)
    def query(request: Request) -> Response:
        params = request.query_params
        apikey = params.get("apikey", "")
        config = prices.config
        if not apikey or (config.api_key and apikey != config.api_key):
            return json_response({"Error Message": INVALID_KEY})
        refusal = prices.throttled(apikey)
        if refusal is not None:
            return json_response(refusal)
        symbol = params.get("symbol", "").upper()
        outputsize = params.get("outputsize") or "compact"
        datatype = params.get("datatype") or "json"
        if (
            params.get("function") != FUNCTION
            or symbol not in TICKERS
            or outputsize not in ("compact", "full")
            or datatype not in ("json", "csv")
        ):
            return json_response({"Error Message": INVALID_CALL})
        full = outputsize == "full"
        if full and config.full_is_premium:
            return json_response({"Information": PREMIUM_FULL})
        if datatype == "csv":
            text = prices.csv(symbol, full)
            if text is not None:
                return Response(text, media_type="text/csv")
        else:
            body = prices.daily(symbol, full)
            if body is not None:
                return json_response(body)
        return json_response({"Error Message": INVALID_CALL})

    return api


def build_source(config: AlphaVantageConfig, clock: SandboxClock) -> Source:
    prices = AlphaVantage(config, clock)
    return Source(SOURCE, (), router(prices), config.as_dict(), quotas=(prices.daily_quota, prices.spacing))
