"""Command line: ``python -m python_scripts.sandbox --port 0 --port-file .sandbox-url``.

Every option can also come from an environment variable ``SANDBOX_<OPTION>`` (e.g. ``SANDBOX_SEED``,
``SANDBOX_START_DATE``); the command line wins. Prints ``sandbox listening on URL`` once connections are
accepted, writes the URL to ``--port-file`` (atomically, removed again on exit) and runs until SIGTERM
or SIGINT.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import threading
from datetime import date
from pathlib import Path
from typing import Any

from python_scripts.sandbox.fakestore import FakeStoreConfig
from python_scripts.sandbox.server import serve_in_thread


def _env(option: str, default: str | None) -> str | None:
    return os.environ.get("SANDBOX_" + option.upper().replace("-", "_"), default)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m python_scripts.sandbox",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )

    def option(name: str, default: str | None, help_text: str, **kwargs: Any) -> None:
        parser.add_argument(f"--{name}", default=_env(name, default), help=f"{help_text} (%(default)s)", **kwargs)

    option("host", "127.0.0.1", "interface to listen on")
    option("port", "0", "port, 0 picks a free one", type=int)
    option("port-file", None, "file to write the base URL to once listening")
    option("seed", "42", "random seed", type=int)
    option("carts", "200", "number of carts", type=int)
    option("users", "0", "number of users, 0 for max(10, carts // 20)", type=int)
    option("products", "0", "number of products, 0 for max(20, carts // 500)", type=int)
    option("start-date", "2025-01-01", "first day of the cart dates", type=date.fromisoformat)
    option("days", "30", "number of days the cart dates span", type=int)
    option("log-level", "warning", "uvicorn log level")
    parser.add_argument("--access-log", action="store_true", help="log every request")
    return parser.parse_args(argv)


def _write_atomically(path: Path, text: str) -> None:
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        tmp.write(text + "\n")
    os.replace(tmp.name, path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = FakeStoreConfig(
            seed=args.seed,
            carts=args.carts,
            users=args.users,
            products=args.products,
            start_date=args.start_date,
            days=args.days,
        )
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
