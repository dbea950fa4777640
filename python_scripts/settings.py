"""Runtime settings: every knob comes from the environment, with local defaults, in this one module.

``python -m python_scripts.settings --export`` prints the derived variables that Airflow and dbt read
(metadata database URL, the ``warehouse`` connection, dbt profile fields) as shell ``export`` lines.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}


class _Reader:
    """Typed reads from an environment mapping; empty values count as unset."""

    def __init__(self, environ: Mapping[str, str]):
        self.environ = environ

    def str(self, name: str, default: str | None = None) -> str | None:
        value = self.environ.get(name, "").strip()
        return value or default

    def bool(self, name: str, default: bool = False) -> bool:
        value = self.str(name)
        return default if value is None else value.lower() in _TRUE

    def float(self, name: str, default: float) -> float:
        return float(self.str(name) or default)

    def int(self, name: str, default: int) -> int:
        return int(self.str(name) or default)

    def list(self, name: str, default: str, separator: str = ";") -> tuple[str, ...]:
        """A ``separator``-separated list; items are stripped and empty ones dropped."""
        return tuple(item.strip() for item in (self.str(name) or default).split(separator) if item.strip())


@dataclass(frozen=True)
class PostgresServer:
    """Where the PostgreSQL server is and who connects; databases are chosen per use."""

    host: str
    port: int
    user: str
    password: str = field(repr=False, default="")

    @classmethod
    def from_url(cls, url: str) -> PostgresServer:
        parts = urlsplit(url)
        if parts.scheme not in {"postgresql", "postgres"}:
            raise ValueError(f"POSTGRES_URL must start with postgresql://, got scheme {parts.scheme!r}")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
        )

    def url(self, database: str, scheme: str = "postgresql") -> str:
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        return f"{scheme}://{auth}@{self.host}:{self.port}/{quote(database, safe='')}"

    def describe(self, database: str) -> str:
        """A password-free description for error messages and logs."""
        return f"{self.user}@{self.host}:{self.port}/{database}"


@dataclass(frozen=True)
class Settings:
    postgres: PostgresServer
    warehouse_db: str
    airflow_db: str
    loader_role: str
    transformer_role: str
    lake_url: str
    lake_compression: str
    s3_endpoint_url: str | None
    fakestore_base_url: str
    fakestore_carts_full_history: bool
    openweather_base_url: str
    openweather_api_key: str | None = field(repr=False)
    alphavantage_base_url: str
    alphavantage_api_key: str | None = field(repr=False)
    stock_tickers: tuple[str, ...]
    weather_cities: tuple[str, ...]
    orders_base_url: str
    orders_batch_size: int
    http_connect_timeout: float
    http_read_timeout: float
    http_max_retries: int
    http_backoff_factor: float
    http_backoff_max: float
    http_throttle_retries: int
    http_throttle_wait: float
    task_retry_delay: float
    alert_slack_webhook_url: str | None = field(repr=False)
    alert_email_to: tuple[str, ...]
    alert_email_from: str | None
    dbt_docs_dir: str

    @property
    def warehouse_url(self) -> str:
        return self.postgres.url(self.warehouse_db)


def get_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``environ`` (default: the process environment); cheap, never cached."""
    env = _Reader(os.environ if environ is None else environ)
    return Settings(
        postgres=PostgresServer.from_url(env.str("POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/")),
        warehouse_db=env.str("WAREHOUSE_DB", "warehouse"),
        airflow_db=env.str("AIRFLOW_DB", "airflow"),
        loader_role=env.str("WAREHOUSE_LOADER_ROLE", "loader"),
        transformer_role=env.str("WAREHOUSE_TRANSFORMER_ROLE", "transformer"),
        lake_url=env.str("LAKE_URL", str(PROJECT_ROOT / "data" / "lake")),
        lake_compression=env.str("LAKE_COMPRESSION", "gzip"),
        s3_endpoint_url=env.str("S3_ENDPOINT_URL"),
        fakestore_base_url=env.str("FAKESTORE_BASE_URL", "https://fakestoreapi.com"),
        fakestore_carts_full_history=env.bool("FAKESTORE_CARTS_FULL_HISTORY"),
        openweather_base_url=env.str("OPENWEATHER_BASE_URL", "https://api.openweathermap.org"),
        openweather_api_key=env.str("OPENWEATHER_API_KEY"),
        alphavantage_base_url=env.str("ALPHAVANTAGE_BASE_URL", "https://www.alphavantage.co"),
        alphavantage_api_key=env.str("ALPHAVANTAGE_API_KEY"),
        stock_tickers=env.list("STOCK_TICKERS", "IBM,AAPL,MSFT,NVDA,TSLA", separator=","),
        weather_cities=env.list("WEATHER_CITIES", "London,GB;Paris,FR;New York,US;Tokyo,JP;Sydney,AU;São Paulo,BR"),
        orders_base_url=env.str("ORDERS_BASE_URL", "http://127.0.0.1:8000"),
        orders_batch_size=env.int("ORDERS_BATCH_SIZE", 100),
        http_connect_timeout=env.float("HTTP_CONNECT_TIMEOUT", 5),
        http_read_timeout=env.float("HTTP_READ_TIMEOUT", 60),
        http_max_retries=env.int("HTTP_MAX_RETRIES", 5),
        http_backoff_factor=env.float("HTTP_BACKOFF_FACTOR", 0.5),
        http_backoff_max=env.float("HTTP_BACKOFF_MAX", 30),
        http_throttle_retries=env.int("HTTP_THROTTLE_RETRIES", 2),
        http_throttle_wait=env.float("HTTP_THROTTLE_WAIT", 2),
        task_retry_delay=env.float("TASK_RETRY_DELAY", 30),
        alert_slack_webhook_url=env.str("ALERT_SLACK_WEBHOOK_URL"),
        alert_email_to=env.list("ALERT_EMAIL_TO", "", separator=","),
        alert_email_from=env.str("ALERT_EMAIL_FROM"),
        dbt_docs_dir=str(PROJECT_ROOT / env.str("DBT_DOCS_DIR", "dbt_project/target/docs")),  # relative: to the project
    )


# Cosmos' PostgresUserPasswordProfileMapping refuses an empty password. Servers with trust or peer
# authentication (the local default) ignore the password, so the connection carries this marker instead.
TRUST_AUTH_PASSWORD = "trust-auth-ignores-this"  # noqa: S105 - not a secret  # pragma: allowlist secret


def warehouse_connection_json(settings: Settings) -> str:
    """The Airflow connection ``warehouse`` (dbt through Cosmos) in Airflow's JSON form."""
    pg = settings.postgres
    return json.dumps(
        {
            "conn_type": "postgres",
            "host": pg.host,
            "port": pg.port,
            "login": pg.user,
            "password": pg.password or TRUST_AUTH_PASSWORD,
            "schema": settings.warehouse_db,
        }
    )


# The Airflow connection that failure alerts post through: its password is the whole incoming-webhook URL.
ALERT_SLACK_CONN_ID = "alert_slack_webhook"
# The dbt project's slug in Cosmos' docs plugin, so the docs live at /cosmos/<slug>/dbt_docs_index.html.
DBT_DOCS_SLUG = "elt_platform"
DBT_DOCS_PATH = f"/cosmos/{DBT_DOCS_SLUG}/dbt_docs_index.html"


def dbt_docs_projects_json(docs_dir: str) -> str:
    """Cosmos' ``[cosmos] dbt_docs_projects``: the folder holding dbt's index.html, manifest and catalog."""
    return json.dumps({DBT_DOCS_SLUG: {"dir": docs_dir, "name": "dbt docs"}})


def alert_connections(settings: Settings) -> dict[str, str]:
    """The Airflow connection the Slack-compatible alerts use, as an ``AIRFLOW_CONN_*`` variable (if configured)."""
    if not settings.alert_slack_webhook_url:
        return {}
    conn = {"conn_type": "slackwebhook", "password": settings.alert_slack_webhook_url}
    return {f"AIRFLOW_CONN_{ALERT_SLACK_CONN_ID.upper()}": json.dumps(conn)}


def derived_environment(settings: Settings, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Variables that Airflow, Cosmos and dbt read, derived from the settings.

    A variable already present in ``environ`` (default: the process environment) is left as it is, so a
    deployment can set any of them explicitly.
    """
    environ = os.environ if environ is None else environ
    pg = settings.postgres
    airflow_home = Path(environ.get("AIRFLOW_HOME") or PROJECT_ROOT / ".airflow")
    derived = {
        # The project root for python_scripts; the DAG folder for the DAG-side package ``elt_dags``.
        "PYTHONPATH": os.pathsep.join((str(PROJECT_ROOT), str(PROJECT_ROOT / "dags"))),
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "4",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__COSMOS__CACHE_DIR": str(airflow_home / "cosmos"),
        "AIRFLOW__COSMOS__DBT_DOCS_PROJECTS": dbt_docs_projects_json(settings.dbt_docs_dir),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": pg.url(settings.airflow_db, scheme="postgresql+psycopg2"),
        "AIRFLOW_CONN_WAREHOUSE": warehouse_connection_json(settings),
        "DBT_HOST": pg.host,
        "DBT_PORT": str(pg.port),
        "DBT_USER": pg.user,
        "DBT_PASSWORD": pg.password,
        "DBT_DBNAME": settings.warehouse_db,
        "DBT_ROLE": settings.transformer_role,
        "DBT_PROFILES_DIR": str(PROJECT_ROOT / "dbt_project"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DBT_DOCS_DIR": settings.dbt_docs_dir,
        **alert_connections(settings),
    }
    return {name: value for name, value in derived.items() if name not in environ}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", action="store_true", help="print derived variables as shell exports")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.export:
        for name, value in derived_environment(settings).items():
            print(f"export {name}={shlex.quote(value)}")
    else:
        print(settings)


if __name__ == "__main__":
    main()
