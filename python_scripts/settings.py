"""Runtime settings: every knob comes from the environment, with local defaults, in this one module.

``python -m python_scripts.settings --export`` prints the derived variables that Airflow and dbt read
(metadata database URL, the ``warehouse`` connection, dbt profile fields) as shell ``export`` lines.
"""

from __future__ import annotations

import argparse
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or default


def _env_bool(name: str, default: bool = False) -> bool:
    value = _env(name)
    return default if value is None else value.lower() in _TRUE


def _env_list(name: str, default: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in (_env(name) or default).split(",") if item.strip())


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
    http_connect_timeout: float
    http_read_timeout: float
    http_max_retries: int
    http_backoff_factor: float
    http_backoff_max: float

    @property
    def warehouse_url(self) -> str:
        return self.postgres.url(self.warehouse_db)


def get_settings() -> Settings:
    """Read the settings from the environment (cheap; read afresh on every call)."""
    lake_url = _env("LAKE_URL", str(PROJECT_ROOT / "data" / "lake"))
    return Settings(
        postgres=PostgresServer.from_url(_env("POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/")),
        warehouse_db=_env("WAREHOUSE_DB", "warehouse"),
        airflow_db=_env("AIRFLOW_DB", "airflow"),
        loader_role=_env("WAREHOUSE_LOADER_ROLE", "loader"),
        transformer_role=_env("WAREHOUSE_TRANSFORMER_ROLE", "transformer"),
        lake_url=lake_url,
        lake_compression=_env("LAKE_COMPRESSION", "gzip"),
        s3_endpoint_url=_env("S3_ENDPOINT_URL"),
        fakestore_base_url=_env("FAKESTORE_BASE_URL", "https://fakestoreapi.com"),
        fakestore_carts_full_history=_env_bool("FAKESTORE_CARTS_FULL_HISTORY"),
        openweather_base_url=_env("OPENWEATHER_BASE_URL", "https://api.openweathermap.org"),
        openweather_api_key=_env("OPENWEATHER_API_KEY"),
        alphavantage_base_url=_env("ALPHAVANTAGE_BASE_URL", "https://www.alphavantage.co"),
        alphavantage_api_key=_env("ALPHAVANTAGE_API_KEY"),
        http_connect_timeout=float(_env("HTTP_CONNECT_TIMEOUT", "5")),
        http_read_timeout=float(_env("HTTP_READ_TIMEOUT", "60")),
        http_max_retries=int(_env("HTTP_MAX_RETRIES", "5")),
        http_backoff_factor=float(_env("HTTP_BACKOFF_FACTOR", "0.5")),
        http_backoff_max=float(_env("HTTP_BACKOFF_MAX", "30")),
    )


def derived_environment(settings: Settings, environ: dict[str, str] | None = None) -> dict[str, str]:
    """Variables that Airflow, Cosmos and dbt read, derived from the settings.

    A variable already present in ``environ`` (default: the process environment) is left as it is, so a
    deployment can set any of them explicitly.
    """
    environ = os.environ if environ is None else environ
    pg = settings.postgres
    airflow_home = Path(environ.get("AIRFLOW_HOME") or PROJECT_ROOT / ".airflow")
    derived = {
        "PYTHONPATH": str(PROJECT_ROOT),
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "4",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__COSMOS__CACHE_DIR": str(airflow_home / "cosmos"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": pg.url(settings.airflow_db, scheme="postgresql+psycopg2"),
        "AIRFLOW_CONN_WAREHOUSE": pg.url(settings.warehouse_db),
        "DBT_HOST": pg.host,
        "DBT_PORT": str(pg.port),
        "DBT_USER": pg.user,
        "DBT_PASSWORD": pg.password,
        "DBT_DBNAME": settings.warehouse_db,
        "DBT_ROLE": settings.transformer_role,
        "DBT_PROFILES_DIR": str(PROJECT_ROOT / "dbt_project"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
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
