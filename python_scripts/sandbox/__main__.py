"""Command line: ``python -m python_scripts.sandbox --port 0 --port-file .sandbox-url``.

Every option can also come from an environment variable ``SANDBOX_<OPTION>`` (e.g. ``SANDBOX_SEED``,
``SANDBOX_START_DATE``, ``SANDBOX_NOW``, ``SANDBOX_ALPHAVANTAGE_FULL_IS_PREMIUM=false``); the command line
wins. ``--seed`` seeds every source whose own ``--<source>-seed`` is not given. Prints
``sandbox listening on URL`` once connections are accepted, writes the URL to ``--port-file`` (atomically,
removed again on exit) and runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any

from python_scripts.sandbox.alphavantage import AlphaVantageConfig
from python_scripts.sandbox.clock import parse_instant
from python_scripts.sandbox.config import SandboxConfig
from python_scripts.sandbox.fakestore import FakeStoreConfig
from python_scripts.sandbox.openweather import OpenWeatherConfig
from python_scripts.sandbox.orders import OrdersConfig
from python_scripts.sandbox.server import serve_in_thread

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _env(option: str, default: str | None) -> str | None:
    return os.environ.get("SANDBOX_" + option.upper().replace("-", "_"), default)


def _instant(value: str) -> datetime:
    try:
        return parse_instant(value, "now")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m python_scripts.sandbox",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )

    def option(name: str, default: str | None, help_text: str, **kwargs: Any) -> None:
        parser.add_argument(f"--{name}", default=_env(name, default), help=f"{help_text} (%(default)s)", **kwargs)

    def flag(name: str, default: bool, help_text: str) -> None:
        value = (_env(name, None) or str(default)).lower()
        if value not in _TRUE + _FALSE:
            parser.error(f"SANDBOX_{name.upper().replace('-', '_')} must be one of {', '.join(_TRUE + _FALSE)}")
        parser.add_argument(
            f"--{name}",
            action=argparse.BooleanOptionalAction,
            default=value in _TRUE,
            help=f"{help_text} (%(default)s)",
        )

    option("host", "127.0.0.1", "interface to listen on")
    option("port", "0", "port, 0 picks a free one", type=int)
    option("port-file", None, "file to write the base URL to once listening")
    option("seed", "42", "random seed of every source", type=int)
    option("now", None, "fixed sandbox clock, ISO-8601 with a timezone; unset: the wall clock", type=_instant)
    option("carts", "200", "number of carts", type=int)
    option("users", "0", "number of users, 0 for max(10, carts // 20)", type=int)
    option("products", "0", "number of products, 0 for max(20, carts // 500)", type=int)
    option("start-date", "2025-01-01", "first day of the cart dates", type=date.fromisoformat)
    option("days", "30", "number of days the cart dates span", type=int)
    flag("carts-until-clock", False, "serve no cart dated on or after the sandbox clock's day (not created yet)")
    option("openweather-seed", None, "OpenWeatherMap seed; unset: --seed", type=int)
    option("openweather-api-key", "", "the only appid accepted; empty: any non-empty key")
    option("openweather-calls-per-minute", "0", "calls per minute and key before 429, 0 for no limit", type=int)
    option("alphavantage-seed", None, "Alpha Vantage seed; unset: --seed", type=int)
    option("alphavantage-api-key", "", "the only apikey accepted; empty: any non-empty key")
    flag("alphavantage-full-is-premium", True, "refuse outputsize=full, as for a free key")
    option("alphavantage-requests-per-day", "0", "requests per key and day, 0 for no limit", type=int)
    option("alphavantage-min-interval", "0", "seconds required between one key's requests, 0 for none", type=float)
    flag("alphavantage-legacy-note", False, 'answer throttled requests in the older {"Note": ...} form')
    option("orders-seed", None, "orders feed seed; unset: --seed", type=int)
    option("orders-customers", "0", "customer ids 1..N, 0 for the number of users", type=int)
    option(
        "orders-epoch",
        "2024-12-01",
        "orders are created before this day; as_of may not precede it",
        type=date.fromisoformat,
    )
    option("orders-history-days", "30", "orders are created within this many days before the epoch", type=int)
    option("log-level", "warning", "uvicorn log level")
    parser.add_argument("--access-log", action="store_true", help="log every request")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """The sandbox config the parsed options describe; ValueError when a value is out of range."""
    return SandboxConfig(
        fakestore=FakeStoreConfig(
            seed=args.seed,
            carts=args.carts,
            users=args.users,
            products=args.products,
            start_date=args.start_date,
            days=args.days,
            carts_until_clock=args.carts_until_clock,
        ),
        openweather=OpenWeatherConfig(
            seed=args.openweather_seed,
            api_key=args.openweather_api_key,
            calls_per_minute=args.openweather_calls_per_minute,
        ),
        alphavantage=AlphaVantageConfig(
            seed=args.alphavantage_seed,
            api_key=args.alphavantage_api_key,
            full_is_premium=args.alphavantage_full_is_premium,
            requests_per_day=args.alphavantage_requests_per_day,
            min_interval=args.alphavantage_min_interval,
            legacy_note=args.alphavantage_legacy_note,
        ),
        orders=OrdersConfig(
            seed=args.orders_seed,
            customers=args.orders_customers,
            epoch=args.orders_epoch,
            history_days=args.orders_history_days,
        ),
        now=args.now,
    )


def _write_atomically(path: Path, text: str) -> None:
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        tmp.write(text + "\n")
    os.replace(tmp.name, path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(
                serve_in_thread(config, args.host, args.port, access_log=args.access_log, log_level=args.log_level)
            )
        except OSError as exc:
            print(f"sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
            return 1
        if args.port_file:
            port_file = Path(args.port_file)
            _write_atomically(port_file, url)
            stack.callback(port_file.unlink, missing_ok=True)
        print(f"sandbox listening on {url}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
