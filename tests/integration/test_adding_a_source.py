"""docs/sources.md's "Adding a source", done in a copy of the project: a keyed source is added as a module, a
JSON Schema and a staging model (and nothing else), then its DAG renders, its extraction runs against a real
HTTP server into the test warehouse, its key stays out of alerts and logs, and its variables are declared."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from werkzeug import Response

from python_scripts.derived import derived_environment
from python_scripts.settings import PROJECT_ROOT, get_settings
from python_scripts.transform.runner import run_dbt
from tests.support.warehouse import TEST_AIRFLOW_DB, TEST_WAREHOUSE_DB

KEY = "quotes-key-4d1e-never-shown"  # pragma: allowlist secret
QUOTES = [{"id": 1, "author": "Ada", "text": "First"}, {"id": 2, "author": "Alan", "text": "Second"}, {"id": 3}]

MODULE = '''
"""
### Quotes ingest

Daily quotes from a keyed API: `GET /api/quotes?token=<key>`.
"""

from __future__ import annotations

from pydantic import SecretStr

from python_scripts.settings import setting
from python_scripts.sources.base import Dag, Entity, Source, SourceSettings


class QuotesSettings(SourceSettings):
    base_url: str = setting("https://quotes.example.com", "QUOTES_BASE_URL", "The quotes API.")
    api_key: SecretStr | None = setting(None, "QUOTES_API_KEY", "The quotes API's token.")


SOURCE = Source(
    name="quotes",
    settings=QuotesSettings,
    api_key_param="token",  # pragma: allowlist secret
    entities=(Entity("quotes", "/api/quotes", key=("id",)),),
    dag=Dag("quotes_ingest", cron="30 6 * * *"),
    doc=__doc__,
)
'''
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["id", "author", "text"],
    "properties": {"id": {"type": "integer"}, "author": {"type": "string"}, "text": {"type": "string"}},
}
SOURCES_YML = """
version: 2

sources:
  - name: quotes
    schema: bronze
    config:
      loaded_at_field: loaded_at
      freshness:
        error_after: {count: 2, period: day}
    tables:
      - name: quotes
        identifier: quotes_quotes
"""
STAGING_SQL = """
select
    (payload ->> 'id')::integer as quote_id,
    payload ->> 'author' as author,
    payload ->> 'text' as quote_text,
    batch_id,
    loaded_at
from {{ source('quotes', 'quotes') }}
"""
STAGING_YML = """
version: 2

models:
  - name: stg_quotes__quotes
    columns:
      - name: quote_id
        data_tests: [not_null]
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project's tracked files with the new source's three parts added."""
    root = tmp_path_factory.mktemp("project")
    files = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source, target = PROJECT_ROOT / name, root / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    (root / "python_scripts/sources/quotes.py").write_text(MODULE.lstrip())
    schemas = root / "python_scripts/sources/schemas/quotes"
    schemas.mkdir()
    (schemas / "quotes.schema.json").write_text(json.dumps(SCHEMA))
    staging = root / "dbt_project/models/staging/quotes"
    staging.mkdir()
    (staging / "_quotes__sources.yml").write_text(SOURCES_YML.lstrip())
    (staging / "stg_quotes__quotes.sql").write_text(STAGING_SQL.lstrip())
    (staging / "_quotes__models.yml").write_text(STAGING_YML.lstrip())
    return root


@pytest.fixture(scope="module")
def environ(project, tmp_path_factory) -> dict[str, str]:
    """The copy's environment: its code first on the path, the test warehouse, a lake of its own."""
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("AIRFLOW", "DBT_"))},
        "PYTHONPATH": os.pathsep.join((str(project), str(project / "dags"))),
        "WAREHOUSE_DB": TEST_WAREHOUSE_DB,
        "AIRFLOW_DB": TEST_AIRFLOW_DB,
        "LAKE_URL": str(tmp_path_factory.mktemp("quotes_lake")),
        "AIRFLOW_HOME": str(tmp_path_factory.mktemp("quotes_airflow")),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path_factory.mktemp('quotes_db')}/airflow.db",
        "QUOTES_API_KEY": KEY,
        "HTTP_MAX_RETRIES": "0",
    }
    env.update(derived_environment(get_settings(env), {"AIRFLOW_HOME": env["AIRFLOW_HOME"]}))
    env["PYTHONPATH"] = os.pathsep.join((str(project), str(project / "dags")))
    env["DBT_PROFILES_DIR"] = str(project / "dbt_project")
    return env


def python(project: Path, env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=project, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_its_variables_are_declared_and_its_key_is_a_secret(project, environ):
    result = subprocess.run(
        [sys.executable, "-m", "python_scripts.settings", "--reference"],
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = {line.split("`")[1]: line for line in result.stdout.splitlines() if line.startswith("| `")}
    assert "QUOTES_BASE_URL" in rows
    assert rows["QUOTES_API_KEY"].endswith("A secret. |")
    exported = subprocess.run(
        [sys.executable, "-m", "python_scripts.settings", "--export"],
        cwd=project,
        env={**environ, "QUOTES_BASE_URL": "https://quotes.test"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "export QUOTES_BASE_URL=https://quotes.test" in exported


def test_its_dag_renders_with_its_staging_model(project, environ):
    run_dbt("parse", env=environ, project_dir=project / "dbt_project")
    result = python(
        project,
        environ,
        """
        import json
        from airflow.dag_processing.dagbag import DagBag
        bag = DagBag(dag_folder="dags")
        dag = bag.dags.get("quotes_ingest")
        print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()},
                          "tasks": sorted(dag.task_ids) if dag else None,
                          "doc": dag.doc_md if dag else None}))
        """,
    )
    parsed = json.loads(result.stdout.strip().splitlines()[-1])
    assert parsed["errors"] == {}
    assert {"extract", "load", "publish_bronze"} <= set(parsed["tasks"])
    assert any("stg_quotes__quotes" in task for task in parsed["tasks"]), parsed["tasks"]
    assert parsed["doc"].lstrip().startswith("### Quotes ingest")


def test_its_extraction_runs_and_quarantines_against_a_real_server(project, environ, httpserver, warehouse):
    httpserver.expect_request("/api/quotes", query_string={"token": KEY}).respond_with_response(
        Response(json.dumps(QUOTES), content_type="application/json")
    )
    result = subprocess.run(
        [sys.executable, "-m", "python_scripts.ingest.pipeline", "quotes", "quotes", "--start", "2025-01-15"],
        cwd=project,
        env={**environ, "QUOTES_BASE_URL": httpserver.url_for("")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert KEY not in result.stdout + result.stderr
    loaded = json.loads(result.stdout)
    assert (loaded["extracted"], loaded["loaded"], loaded["rejected"]) == (3, 2, 1)
    rows = warehouse.execute("SELECT payload ->> 'author' FROM bronze.quotes_quotes ORDER BY record_no").fetchall()
    assert rows == [("Ada",), ("Alan",)]
    (reason,) = warehouse.execute("SELECT reason FROM audit.rejected_records WHERE source = 'quotes'").fetchone()
    assert "author" in reason


def test_its_key_is_redacted_from_alerts(project, environ):
    result = python(
        project,
        environ,
        f"""
        from python_scripts.alerts import TaskFailure, failure_alert, known_secrets
        from python_scripts.settings import get_settings
        failure = TaskFailure(dag_id="quotes_ingest", task_id="extract", run_id="r", logical_date=None,
                              try_number=1, error="GET failed: key {KEY} refused", log_url="http://x")
        alert = failure_alert(failure, known_secrets(get_settings()))
        print(alert.text, alert.html_body)
        """,
    )
    assert "refused" in result.stdout
    assert KEY not in result.stdout
