"""The sandbox clock, the whole-sandbox config, the health report and the command line's source options."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from python_scripts.sandbox import (
    AlphaVantageConfig,
    FakeStoreConfig,
    OpenWeatherConfig,
    OrdersConfig,
    SandboxConfig,
    create_app,
)
from python_scripts.sandbox.__main__ import config_from_args, parse_args
from tests.sandbox.support import NOW

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["fakestore", "openweather", "alphavantage", "orders"]


# --- clock ---------------------------------------------------------------------------------------


def test_the_clock_starts_at_the_configured_instant(sandbox):
    state = sandbox.get("/__sandbox/clock").json()
    assert state == {"now": "2025-01-10T12:00:00Z", "fixed": None, "configured": "2025-01-10T12:00:00Z"}


def test_the_clock_can_be_fixed_and_reset(sandbox):
    state = sandbox.set_clock("2025-03-01T08:30:00+02:00")
    assert state == {
        "now": "2025-03-01T06:30:00Z",
        "fixed": "2025-03-01T06:30:00Z",
        "configured": "2025-01-10T12:00:00Z",
    }
    assert sandbox.get("/__sandbox/clock").json() == state
    assert sandbox.get("/__sandbox/health").json()["clock"] == state
    assert sandbox.set_clock(None)["now"] == "2025-01-10T12:00:00Z"
    sandbox.set_clock("2025-03-01T06:30:00Z")
    response = requests.delete(sandbox.url + "/__sandbox/clock", timeout=5)
    assert response.status_code == 204
    assert sandbox.get("/__sandbox/clock").json()["fixed"] is None


def test_the_clock_drives_weather_and_prices_together(sandbox):
    def observed() -> tuple[int, str]:
        weather = sandbox.get("/data/2.5/weather", q="Toronto", appid="k").json()
        prices = sandbox.get("/query", function="TIME_SERIES_DAILY", symbol="JPM", apikey="k").json()
        return weather["dt"], prices["Meta Data"]["3. Last Refreshed"]

    assert observed() == (int(NOW.timestamp()), "2025-01-08")
    sandbox.set_clock("2025-02-04T21:05:00Z")
    assert observed() == (int(datetime(2025, 2, 4, 21, 0, tzinfo=UTC).timestamp()), "2025-02-04")
    sandbox.clear("clock")
    assert observed() == (int(NOW.timestamp()), "2025-01-08")


@pytest.mark.parametrize(
    "body",
    [
        {"now": "2025-01-10T12:00:00"},
        {"now": "2025-01-10"},
        {"now": "yesterday"},
        {"now": 1736510400},
        {"now": "2025-02-30T00:00:00Z"},
        {},
        {"then": "2025-01-10T12:00:00Z"},
        ["2025-01-10T12:00:00Z"],
    ],
)
def test_an_invalid_clock_answers_400_and_keeps_the_clock(sandbox, body):
    response = sandbox.control("clock", body)
    assert response.status_code == 400
    assert response.json()["status"] == "error"
    assert sandbox.get("/__sandbox/clock").json()["now"] == "2025-01-10T12:00:00Z"


def test_without_a_configured_instant_the_clock_is_the_wall_clock(serve):
    client = serve(None)
    state = client.get("/__sandbox/clock").json()
    now = datetime.fromisoformat(state["now"])
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)
    assert state["configured"] is None
    client.set_clock("2030-01-01T00:00:00Z")
    assert client.get("/__sandbox/clock").json()["now"] == "2030-01-01T00:00:00Z"


# --- config and health ---------------------------------------------------------------------------


def test_health_shows_every_source_s_resolved_config(sandbox):
    body = sandbox.get("/__sandbox/health").json()
    assert body["sources"] == SOURCES
    assert body["config"] == {
        "fakestore": {
            "seed": 42,
            "carts": 200,
            "users": 10,
            "products": 20,
            "start_date": "2025-01-01",
            "days": 30,
            "carts_until_clock": False,
        },
        "openweather": {"seed": 42, "api_key": "", "calls_per_minute": 0},
        "alphavantage": {
            "seed": 42,
            "api_key": "",
            "full_is_premium": True,
            "requests_per_day": 0,
            "min_interval": 0.0,
            "legacy_note": False,
        },
        "orders": {"seed": 42, "customers": 10, "epoch": "2024-12-01", "history_days": 30},
    }


def test_the_sandbox_seed_fills_every_source_seed_left_unset():
    config = SandboxConfig(fakestore=FakeStoreConfig(seed=7, carts=1000), orders=OrdersConfig(seed=9))
    assert (config.seed, config.openweather.seed, config.alphavantage.seed, config.orders.seed) == (7, 7, 7, 9)
    assert config.orders.customers == 50
    assert SandboxConfig.of(None) == SandboxConfig()
    assert SandboxConfig.of(FakeStoreConfig(seed=3)) == SandboxConfig(fakestore=FakeStoreConfig(seed=3))
    assert SandboxConfig.of(config) is config
    with pytest.raises(TypeError):
        SandboxConfig.of({"seed": 1})


def test_now_must_carry_a_timezone_and_is_kept_in_utc():
    with pytest.raises(ValueError, match="timezone"):
        SandboxConfig(now=datetime(2025, 1, 10, 12, 0))
    config = SandboxConfig(now=datetime(2025, 1, 10, 13, 0, tzinfo=timezone(timedelta(hours=1))))
    assert config.now == NOW
    assert config.now.utcoffset() == timedelta(0)
    assert config.as_dict()["now"] == "2025-01-10T12:00:00Z"


@pytest.mark.parametrize(
    "make",
    [
        lambda: OpenWeatherConfig(calls_per_minute=-1),
        lambda: AlphaVantageConfig(requests_per_day=-1),
        lambda: AlphaVantageConfig(min_interval=-0.5),
        lambda: OrdersConfig(customers=-1),
        lambda: OrdersConfig(history_days=0),
    ],
)
def test_out_of_range_settings_are_rejected(make):
    with pytest.raises(ValueError, match=">="):
        make()


def test_a_bare_fake_store_config_serves_every_source(serve):
    client = serve(FakeStoreConfig(seed=3, carts=150))
    body = client.get("/__sandbox/health").json()
    assert body["sources"] == SOURCES
    assert body["config"]["fakestore"]["carts"] == 150
    assert {body["config"][name]["seed"] for name in SOURCES} == {3}
    assert client.get("/orders", as_of="2025-01-10T00:00:00Z").status_code == 200


def test_create_app_accepts_every_config_form():
    for config in (None, FakeStoreConfig(), SandboxConfig(now=NOW)):
        paths = {route.path for route in create_app(config).routes}
        assert {"/products", "/data/2.5/weather", "/query", "/orders", "/__sandbox/clock"} <= paths


# --- command line --------------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("SANDBOX_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_the_cli_defaults_are_the_config_defaults(clean_env):
    assert config_from_args(parse_args([])) == SandboxConfig()


def test_the_cli_parses_every_source_option(clean_env):
    args = parse_args(
        [
            "--seed", "5",
            "--now", "2025-01-10T12:00:00Z",
            "--openweather-seed", "6",
            "--openweather-api-key", "ow-key",
            "--openweather-calls-per-minute", "60",
            "--alphavantage-api-key", "av-key",
            "--no-alphavantage-full-is-premium",
            "--alphavantage-requests-per-day", "25",
            "--alphavantage-min-interval", "1.5",
            "--alphavantage-legacy-note",
            "--orders-seed", "8",
            "--orders-customers", "4",
            "--orders-epoch", "2025-01-01",
            "--orders-history-days", "10",
        ]
    )  # fmt: skip
    assert config_from_args(args) == SandboxConfig(
        fakestore=FakeStoreConfig(seed=5),
        openweather=OpenWeatherConfig(seed=6, api_key="ow-key", calls_per_minute=60),
        alphavantage=AlphaVantageConfig(
            seed=5,
            api_key="av-key",  # pragma: allowlist secret
            full_is_premium=False,
            requests_per_day=25,
            min_interval=1.5,
            legacy_note=True,
        ),
        orders=OrdersConfig(seed=8, customers=4, epoch=date(2025, 1, 1), history_days=10),
        now=NOW,
    )


def test_the_cli_reads_the_environment_and_the_command_line_wins(clean_env):
    clean_env.setenv("SANDBOX_NOW", "2025-01-10T13:00:00+01:00")
    clean_env.setenv("SANDBOX_ALPHAVANTAGE_FULL_IS_PREMIUM", "false")
    clean_env.setenv("SANDBOX_ALPHAVANTAGE_LEGACY_NOTE", "yes")
    clean_env.setenv("SANDBOX_OPENWEATHER_CALLS_PER_MINUTE", "60")
    clean_env.setenv("SANDBOX_ORDERS_EPOCH", "2024-11-01")
    config = config_from_args(parse_args(["--openweather-calls-per-minute", "10", "--alphavantage-full-is-premium"]))
    assert config.now == NOW
    assert config.alphavantage.full_is_premium is True
    assert config.alphavantage.legacy_note is True
    assert config.openweather.calls_per_minute == 10
    assert config.orders.epoch == date(2024, 11, 1)


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["--now", "2025-01-10T12:00:00"], {}),
        (["--now", "tomorrow"], {}),
        ([], {"SANDBOX_NOW": "2025-01-10"}),
        ([], {"SANDBOX_ALPHAVANTAGE_LEGACY_NOTE": "maybe"}),
        (["--orders-epoch", "December"], {}),
        (["--alphavantage-min-interval", "soon"], {}),
    ],
)
def test_the_cli_rejects_bad_values(clean_env, argv, env, capsys):
    for name, value in env.items():
        clean_env.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        parse_args(argv)
    assert exited.value.code == 2
    assert capsys.readouterr().err


def test_the_cli_serves_the_new_settings(tmp_path, clean_env):
    port_file = tmp_path / "sandbox.url"
    env = {**os.environ, "SANDBOX_OPENWEATHER_API_KEY": "ow-key", "PYTHONPATH": str(PROJECT_ROOT)}
    command = [sys.executable, "-m", "python_scripts.sandbox", "--port", "0", "--port-file", str(port_file)]
    command += ["--now", "2025-01-10T21:00:00Z", "--orders-customers", "2"]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().startswith("sandbox listening on ")
        url = port_file.read_text().strip()
        assert requests.get(url + "/__sandbox/clock", timeout=5).json()["now"] == "2025-01-10T21:00:00Z"
        prices = requests.get(
            url + "/query", params={"function": "TIME_SERIES_DAILY", "symbol": "IBM", "apikey": "k"}, timeout=5
        ).json()
        assert prices["Meta Data"]["3. Last Refreshed"] == "2025-01-10"
        weather = url + "/data/2.5/weather"
        assert requests.get(weather, params={"q": "Paris", "appid": "other"}, timeout=5).status_code == 401
        assert requests.get(weather, params={"q": "Paris", "appid": "ow-key"}, timeout=5).status_code == 200
        orders = requests.get(url + "/orders", params={"as_of": "2025-01-10T00:00:00Z"}, timeout=5).json()
        assert {order["customer_id"] for order in orders} == {1, 2}
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_carts_until_clock_serves_no_cart_dated_on_or_after_the_clocks_day(serve):
    old = FakeStoreConfig(carts=60, start_date=date(2020, 1, 1), days=30, carts_until_clock=True)
    api = serve(SandboxConfig(fakestore=old, now=datetime(2020, 1, 11, tzinfo=UTC)))
    every = serve(FakeStoreConfig(carts=60, start_date=date(2020, 1, 1), days=30)).get("/carts").json()

    def served(**params) -> list[dict]:
        return api.get("/carts", **params).json()

    assert served() == [cart for cart in every if cart["date"] < "2020-01-11"]
    assert 0 < len(served()) < len(every)
    assert served(startdate="2020-01-05", enddate="2020-01-20") == [
        cart for cart in every if "2020-01-05" <= cart["date"] < "2020-01-11"
    ]
    api.set_clock("2020-02-01T00:00:00Z")
    assert served() == every
