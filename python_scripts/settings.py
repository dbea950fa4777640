"""Runtime settings: the one module that reads configuration.

Every knob is a typed field of a pydantic model named after its environment variable: the platform's own
below, each source's in its module (``python_scripts.sources``). They are read from the process environment
over ``.env`` (dotenv syntax: quotes, comments, ``export``; ``ENV_FILE`` names another file) and validated
together: a wrong value is one line naming the variable, the value and what is allowed, raised as
``SettingsError`` before anything starts. An empty value counts as unset, except for lists that must not be
empty. Fields typed ``SecretStr`` are secrets: never printed, and redacted from alerts.

``python -m python_scripts.settings --check`` validates; ``--export`` prints, as shell ``export`` lines, every
declared setting that has a value and what Airflow, Cosmos and dbt read derived from them
(``python_scripts.derived``); ``--reference`` prints the variable table.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import quote, unquote, urlsplit

from dotenv.parser import parse_stream
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError

if TYPE_CHECKING:
    from python_scripts.sources.base import SourceSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """One or more settings are invalid; the message has one line per variable."""


# --- How a setting is declared -----------------------------------------------------------------------


def setting(default: Any, env: str, help: str, *, empty_is_error: bool = False, **constraints: Any) -> Any:
    """A field read from the environment variable ``env``; ``help`` is its line in the settings reference.

    ``empty_is_error``: an empty value is an error instead of meaning "unset" (lists that must name something).
    """
    extra = {"empty_is_error": True} if empty_is_error else None
    return Field(default, validation_alias=env, description=help, json_schema_extra=extra, **constraints)


def _split(separator: str):
    def split(value: Any) -> Any:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(separator) if item.strip())
        return value

    return split


def _unique(values: tuple[str, ...]) -> tuple[str, ...]:
    seen = {item.casefold(): item for item in values}
    if len(seen) != len(values):
        repeated = sorted({item for item in values if sum(v.casefold() == item.casefold() for v in values) > 1})
        raise ValueError(f"lists {', '.join(repeated)} more than once")
    return values


def listing(separator: str, *, min_items: int = 0) -> Any:
    """A ``separator``-separated list of distinct items (stripped, empty items dropped)."""
    return Annotated[
        tuple[str, ...], BeforeValidator(_split(separator)), AfterValidator(_unique), Field(min_length=min_items)
    ]


class SettingsGroup(BaseModel):
    """A set of settings read from environment variables (one field each, see ``setting``)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True, validate_default=True)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> SettingsGroup:
        values: dict[str, Any] = {}
        for info in cls.model_fields.values():
            env = info.validation_alias
            if not isinstance(env, str) or env not in environ:
                continue
            value = environ[env]
            if value.strip() or (info.json_schema_extra or {}).get("empty_is_error"):
                values[env] = value
        return cls.model_validate(values)

    def replace(self, **changes: Any):
        """A copy with some fields changed (by field name)."""
        return self.model_copy(update=changes)


# --- The platform's settings --------------------------------------------------------------------------


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
            raise ValueError(f"must start with postgresql://, not {parts.scheme or 'no scheme'}")
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


def _postgres(value: Any) -> Any:
    return PostgresServer.from_url(value) if isinstance(value, str) else value


Seconds = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]


def _project_path(value: Any) -> Any:
    """A relative directory is relative to the project root; URLs (s3://…) pass as they are."""
    if isinstance(value, str) and "://" not in value:
        return str(PROJECT_ROOT / value)
    return value


class Settings(SettingsGroup):
    """The platform's settings; ``source(name)`` gives a source's own."""

    postgres: Annotated[PostgresServer, BeforeValidator(_postgres)] = setting(
        "postgresql://postgres@127.0.0.1:5432/",
        "POSTGRES_URL",
        "The PostgreSQL server, as an admin who may create roles and databases (trust auth needs no password).",
    )
    warehouse_db: str = setting("warehouse", "WAREHOUSE_DB", "The warehouse database.")
    airflow_db: str = setting("airflow", "AIRFLOW_DB", "Airflow's metadata database (native runs).")
    loader_role: str = setting("loader", "WAREHOUSE_LOADER_ROLE", "The role loads run as (SET ROLE).")
    transformer_role: str = setting("transformer", "WAREHOUSE_TRANSFORMER_ROLE", "The role dbt runs as.")
    loader_password: SecretStr | None = setting(None, "LOADER_PASSWORD", "Login password of the loader role.")
    transformer_password: SecretStr | None = setting(
        None, "TRANSFORMER_PASSWORD", "Login password of the transformer role."
    )
    bi_reader_password: SecretStr | None = setting(
        None, "BI_READER_PASSWORD", "Login password of bi_reader (the KPI report, BI tools)."
    )
    lake_url: Annotated[str, BeforeValidator(_project_path)] = setting(
        "data/lake", "LAKE_URL", "The lake: a directory (relative to the project) or s3://bucket/prefix."
    )
    lake_compression: Literal["gzip", "none"] = setting("gzip", "LAKE_COMPRESSION", "Lake objects: gzip or none.")
    s3_endpoint_url: str | None = setting(
        None, "S3_ENDPOINT_URL", "A custom S3 endpoint (SeaweedFS, Ceph); credentials from the AWS_* variables."
    )
    http_connect_timeout: Seconds = setting(5, "HTTP_CONNECT_TIMEOUT", "Seconds to connect to an API.")
    http_read_timeout: Seconds = setting(60, "HTTP_READ_TIMEOUT", "Seconds to wait for an API's next bytes.")
    http_max_retries: int = setting(
        5, "HTTP_MAX_RETRIES", "Retries of connection errors, 429 and 5xx (Retry-After honoured).", ge=0
    )
    http_backoff_factor: NonNegative = setting(0.5, "HTTP_BACKOFF_FACTOR", "Exponential backoff factor, seconds.")
    http_backoff_max: NonNegative = setting(30, "HTTP_BACKOFF_MAX", "Longest wait between two retries, seconds.")
    http_throttle_retries: int = setting(
        2, "HTTP_THROTTLE_RETRIES", "Times a rate-limited request is asked again before the task fails.", ge=0
    )
    http_throttle_wait: NonNegative = setting(
        2, "HTTP_THROTTLE_WAIT", "Seconds before asking a rate-limited request again, doubling each time."
    )
    task_retry_delay: NonNegative = setting(
        30, "TASK_RETRY_DELAY", "Seconds before a failed Airflow task is retried, doubling on each try."
    )
    alert_slack_webhook_url: SecretStr | None = setting(
        None, "ALERT_SLACK_WEBHOOK_URL", "A Slack-compatible incoming webhook for failure alerts (a secret)."
    )
    alert_email_to: listing(",") = setting((), "ALERT_EMAIL_TO", "Comma-separated recipients of failure alerts.")
    alert_email_from: str | None = setting(None, "ALERT_EMAIL_FROM", "Sender of alert mails.")
    openlineage_url: str | None = setting(
        None,
        "OPENLINEAGE_URL",
        "A catalog's OpenLineage API, such as Marquez's `http://host:5000`; with OPENLINEAGE_FILE unset too, "
        "lineage is off.",
    )
    openlineage_endpoint: str = setting(
        "api/v1/lineage", "OPENLINEAGE_ENDPOINT", "The path under OPENLINEAGE_URL the events are posted to."
    )
    openlineage_api_key: SecretStr | None = setting(
        None, "OPENLINEAGE_API_KEY", "Bearer token for the catalog's API (a secret)."
    )
    openlineage_file: Annotated[str, BeforeValidator(_project_path)] | None = setting(
        None, "OPENLINEAGE_FILE", "Append the events to this file, one JSON per line (when OPENLINEAGE_URL is unset)."
    )
    openlineage_namespace: str = setting(
        "elt_platform", "OPENLINEAGE_NAMESPACE", "The namespace of the platform's jobs in the catalog."
    )
    dbt_project_dir: Annotated[str, BeforeValidator(_project_path)] = setting(
        "dbt_project", "DBT_PROJECT_DIR", "The dbt project (relative to the project root)."
    )
    dbt_docs_dir: Annotated[str, BeforeValidator(_project_path)] = setting(
        "dbt_project/target/docs", "DBT_DOCS_DIR", "Where the dbt docs are written and served from."
    )
    dbt_threads: int = setting(4, "DBT_THREADS", "dbt's threads (one dbt build of a group uses them all).", gt=0)
    dbt_task_granularity: Literal["node", "group"] = setting(
        "node", "DBT_TASK_GRANULARITY", "dbt in Airflow: a task per node, or freshness + one dbt build per group."
    )
    cosmos_load_mode: Literal["dbt_manifest", "dbt_ls"] = setting(
        "dbt_manifest", "COSMOS_LOAD_MODE", "How Cosmos renders the dbt groups at parse time."
    )
    cosmos_execution_mode: Literal["local", "watcher"] = setting(
        "local", "COSMOS_EXECUTION_MODE", "How Cosmos runs them: dbt per task, or one dbt build watched per node."
    )
    airflow_port: int = setting(8080, "AIRFLOW_PORT", "Port of `make airflow`'s API server and UI.", gt=0, lt=65536)
    prometheus_port: int = setting(9090, "PROMETHEUS_PORT", "Port of `make metrics`' Prometheus.", gt=0, lt=65536)
    pg_exporter_port: int = setting(
        9187, "PG_EXPORTER_PORT", "Port of `make metrics`' PostgreSQL exporter.", gt=0, lt=65536
    )

    sources: dict[str, Any] = Field(default_factory=dict, exclude=True)

    @property
    def warehouse_url(self) -> str:
        return self.postgres.url(self.warehouse_db)

    def source(self, name: str) -> SourceSettings:
        """The settings of one registered source."""
        try:
            return self.sources[name]
        except KeyError:
            raise KeyError(f"no settings for source {name!r}; known: {sorted(self.sources)}") from None


# --- Reading them ------------------------------------------------------------------------------------


def env_file() -> Path:
    return Path(os.environ.get("ENV_FILE") or PROJECT_ROOT / ".env")


def read_env_file(path: Path) -> dict[str, str]:
    """The variables of a dotenv file (quotes, comments and ``export`` handled); a line that is not
    ``NAME=value`` is an error naming the line."""
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    with path.open(encoding="utf-8") as stream:
        for binding in parse_stream(stream):
            if binding.error:
                line = binding.original.line
                text = binding.original.string.strip()
                raise SettingsError(f"{path.name} line {line}: not NAME=value: {text!r}")
            if binding.key is not None:
                values[binding.key] = binding.value or ""
    return values


def environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables settings are read from: ``.env`` under the process environment (which wins)."""
    if environ is not None:
        return dict(environ)
    return {**read_env_file(env_file()), **os.environ}


_URL_PASSWORD = re.compile(r"(://[^/:@\s]+:)[^@\s/]+@")


def _problems(group: type[SettingsGroup], error: ValidationError, environ: Mapping[str, str]) -> Iterator[str]:
    secrets = set(secret_variables(group))
    for problem in error.errors():
        env = str(problem["loc"][0]) if problem["loc"] else "?"
        value = "<secret>" if env in secrets else repr(_URL_PASSWORD.sub(r"\1***@", str(environ.get(env, ""))))
        message = problem["msg"].removeprefix("Value error, ")
        yield f"{env}={value}: {message[0].lower()}{message[1:]}"


def get_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting, the sources' included, from ``environ`` (default: the process
    environment over ``.env``); cheap, never cached. Raises SettingsError with one line per problem."""
    from python_scripts.sources import SOURCES

    env = environment(environ)
    problems: list[str] = []
    groups: dict[str, SettingsGroup] = {}
    for name, group in [("", Settings), *((source.name, source.settings) for source in SOURCES.values())]:
        try:
            groups[name] = group.from_environment(env)
        except ValidationError as exc:
            problems += _problems(group, exc, env)
    if problems:
        raise SettingsError("invalid settings:\n  " + "\n  ".join(problems))
    core = groups.pop("")
    return core.model_copy(update={"sources": groups})


def secret_variables(group: type[SettingsGroup]) -> list[str]:
    """The environment variables of a group whose values are secrets."""
    return [
        str(info.validation_alias)
        for info in group.model_fields.values()
        if info.annotation is not None and SecretStr in getattr(info.annotation, "__args__", (info.annotation,))
    ]


def secret_values(settings: Settings) -> list[str]:
    """Every secret value the settings hold, the sources' and the database password included."""
    values = [settings.postgres.password]
    for group in (settings, *settings.sources.values()):
        for name, info in type(group).model_fields.items():
            value = getattr(group, name)
            if isinstance(value, SecretStr) and info.validation_alias:
                values.append(value.get_secret_value())
    return [value for value in values if value]


@dataclass(frozen=True)
class Declared:
    """One declared setting: its variable, default, help text, whether it is a secret, and whose it is."""

    env: str
    default: str
    help: str
    secret: bool
    owner: str


def declared_settings() -> list[Declared]:
    """Every setting the platform and its sources declare, in declaration order."""
    from python_scripts.sources import SOURCES

    groups = [("platform", Settings), *((source.name, source.settings) for source in SOURCES.values())]
    declared = []
    for owner, group in groups:
        secrets = set(secret_variables(group))
        for info in group.model_fields.values():
            if not isinstance(info.validation_alias, str):
                continue
            default = info.default
            if isinstance(default, tuple):
                default = ("," if info.validation_alias != "WEATHER_CITIES" else ";").join(default)
            shown = "" if default is None else str(default).lower() if isinstance(default, bool) else str(default)
            env = info.validation_alias
            declared.append(Declared(env, shown, info.description or "", env in secrets, owner))
    return declared


def declared_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The declared settings that have a value in ``environ`` (``.env`` included)."""
    names = {item.env for item in declared_settings()}
    return {name: value for name, value in environ.items() if name in names and value.strip()}


def reference_table() -> str:
    """The settings reference as a Markdown table (docs/operations.md holds a copy, checked by a test)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for item in declared_settings():
        default = f"`{item.default}`" if item.default else ""
        rows.append(f"| `{item.env}` | {default} | {item.help}{' A secret.' if item.secret else ''} |")
    return "\n".join(rows)


def load_or_exit(environ: Mapping[str, str] | None = None, *, check_lake: bool = False) -> Settings:
    """The settings, for an entry point: invalid ones end the process with their one-line reasons. With
    ``check_lake``, a lake that cannot be written (see ``python_scripts.ingest.lake.lake_problem``) too."""
    try:
        settings = get_settings(environ)
        if check_lake:
            from python_scripts.ingest.lake import lake_problem

            problem = lake_problem(settings.lake_url)
            if problem:
                raise SettingsError(f"invalid settings:\n  LAKE_URL={settings.lake_url!r}: {problem}")
        return settings
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--export", action="store_true", help="print settings and derived variables as exports")
    action.add_argument("--check", action="store_true", help="validate the settings and say so")
    action.add_argument("--reference", action="store_true", help="print the settings reference (Markdown)")
    args = parser.parse_args(argv)
    if args.reference:
        print(reference_table())
        return 0
    try:
        env = environment()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = load_or_exit(env, check_lake=args.check)
    if args.export:
        from python_scripts.derived import derived_environment

        variables = {**declared_environment(env), **derived_environment(settings)}
        for name, value in variables.items():
            print(f"export {name}={shlex.quote(value)}")
    else:
        print(f"settings are valid ({len(declared_settings())} declared)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
