"""Sandbox HTTP server emulating the platform's public source APIs with deterministic generated data.

``create_app(config)`` builds the ASGI application, ``serve_in_thread(config)`` serves it from a background
thread, ``python -m python_scripts.sandbox`` from the command line. ``config`` is a :class:`SandboxConfig`
(one config per source, plus the sandbox clock's ``now``) or a bare :class:`FakeStoreConfig`. The same data
as Python: ``FakeStore(config)``, ``OpenWeather(config).current(city)``, ``AlphaVantage(config).daily(symbol)``
and ``Orders(config).batch(as_of)``.
"""

from python_scripts.sandbox.alphavantage import SYMBOLS, TICKERS, AlphaVantage, AlphaVantageConfig, is_trading_day
from python_scripts.sandbox.app import create_app
from python_scripts.sandbox.config import SandboxConfig
from python_scripts.sandbox.fakestore import CITIES, FakeStore, FakeStoreConfig
from python_scripts.sandbox.openweather import CITIES_BY_ID, WEATHER_CITIES, OpenWeather, OpenWeatherConfig
from python_scripts.sandbox.orders import Orders, OrdersConfig
from python_scripts.sandbox.server import serve_in_thread

__all__ = [
    "CITIES",
    "CITIES_BY_ID",
    "SYMBOLS",
    "TICKERS",
    "WEATHER_CITIES",
    "AlphaVantage",
    "AlphaVantageConfig",
    "FakeStore",
    "FakeStoreConfig",
    "OpenWeather",
    "OpenWeatherConfig",
    "Orders",
    "OrdersConfig",
    "SandboxConfig",
    "create_app",
    "is_trading_day",
    "serve_in_thread",
]
