"""What Airflow, Cosmos and dbt read, derived from the settings: the metadata database URL, the ``warehouse``
connection, dbt's profile fields, the docs plugin's project and the alert channel's connection.

``python -m python_scripts.settings --export`` prints them; ``make`` targets and the native services use them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from python_scripts.settings import PROJECT_ROOT, Settings

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
DBT_PROFILE, DBT_TARGET = "elt_platform", "dev"  # dbt_project/profiles.yml, and the profile Cosmos renders
DBT_DOCS_SLUG = "elt_platform"
DBT_DOCS_PATH = f"/cosmos/{DBT_DOCS_SLUG}/dbt_docs_index.html"


def dbt_docs_projects_json(docs_dir: str) -> str:
    """Cosmos' ``[cosmos] dbt_docs_projects``: the folder holding dbt's index.html, manifest and catalog."""
    return json.dumps({DBT_DOCS_SLUG: {"dir": docs_dir, "name": "dbt docs"}})


def alert_connections(settings: Settings) -> dict[str, str]:
    """The Airflow connection the Slack-compatible alerts use, as an ``AIRFLOW_CONN_*`` variable (if configured)."""
    if not settings.alert_slack_webhook_url:
        return {}
    conn = {"conn_type": "slackwebhook", "password": settings.alert_slack_webhook_url.get_secret_value()}
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
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "airflow" / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "4",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__COSMOS__CACHE_DIR": str(airflow_home / "cosmos"),
        # The watcher's producer keeps its XCom backup in memory and writes it to a Variable only when it fails,
        # not on each of its ~500 pushes per build (most of the producer's time over one dbt build).
        "AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY": "False",
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
        # The profile and target Cosmos names on its command lines, on every dbt command: they are part of what
        # dbt checks before reusing its partial parse, so `make manifest`'s parse then serves every task
        # (otherwise each dbt invocation in a task parses the whole project again, about 2.5 s).
        "DBT_PROFILE": DBT_PROFILE,
        "DBT_TARGET": DBT_TARGET,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DBT_DOCS_DIR": settings.dbt_docs_dir,
        **alert_connections(settings),
        **openlineage_environment(settings),
    }
    return {name: value for name, value in derived.items() if name not in environ}


def openlineage_environment(settings: Settings) -> dict[str, str]:
    """What Airflow's OpenLineage provider and the OpenLineage client read: the namespace always (Cosmos asks for
    it even with lineage off), and the transport when a catalog URL or a file is set. With neither, the provider
    turns itself off: no listener, no events."""
    variables = {
        "AIRFLOW__OPENLINEAGE__NAMESPACE": settings.openlineage_namespace,
        "OPENLINEAGE_NAMESPACE": settings.openlineage_namespace,
    }
    if settings.openlineage_url:
        variables |= {
            "OPENLINEAGE_URL": settings.openlineage_url,
            "OPENLINEAGE_ENDPOINT": settings.openlineage_endpoint,
        }
        if settings.openlineage_api_key:
            variables["OPENLINEAGE_API_KEY"] = settings.openlineage_api_key.get_secret_value()
    elif settings.openlineage_file:
        variables |= {
            "OPENLINEAGE__TRANSPORT__TYPE": "file",
            "OPENLINEAGE__TRANSPORT__LOG_FILE_PATH": settings.openlineage_file,
            "OPENLINEAGE__TRANSPORT__APPEND": "true",
        }
    return variables
