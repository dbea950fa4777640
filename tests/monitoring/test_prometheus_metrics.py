"""The pipeline's health in Prometheus, and the monitoring files the Docker stack mounts.

Prometheus and the PostgreSQL exporter (python_scripts/ops/monitoring.py) run on free loopback ports against the
test warehouse, scraping every second. After a real ingestion (sandbox → lake → bronze) and
``dbt run -s source:audit+``, the series Prometheus holds must equal what the audit trail and the marts say.
promtool checks the shipped configuration and runs the alert rules' unit tests; the dashboard and the alert
rules may only name metrics that the exporter's queries or the StatsD mapping produce.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
from datetime import UTC, datetime

import pytest
import requests
import yaml

from python_scripts.ingest.pipeline import ingest
from python_scripts.ops import monitoring
from python_scripts.settings import get_settings

pytestmark = pytest.mark.timeout(180)

PROMETHEUS_DIR = monitoring.MONITORING_DIR / "prometheus"
MAPPING_FILE = monitoring.MONITORING_DIR / "statsd" / "mapping.yml"
DASHBOARD_FILE = monitoring.MONITORING_DIR / "grafana" / "dashboards" / "elt-platform.json"
DATASOURCE_FILE = monitoring.MONITORING_DIR / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
START = datetime(2025, 1, 10, tzinfo=UTC)
END = datetime(2025, 1, 11, tzinfo=UTC)
SANDBOX_NOW = "2025-01-11T00:00:00Z"
TARGETS = (("orders", "orders"), ("fakestore", "products"))
SCRAPE_WAIT = 20
# Suffixes Prometheus adds to a histogram's series.
HISTOGRAM_SERIES = re.compile(r"_(bucket|sum|count)$")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def prometheus(dag_env, tmp_path_factory) -> str:
    """Prometheus and the exporter on free ports against the test warehouse; Prometheus' base URL."""
    try:
        monitoring.find_binaries()
    except monitoring.MissingBinaries as exc:
        pytest.skip(str(exc))
    folder = tmp_path_factory.mktemp("metrics")
    endpoints = monitoring.start(get_settings(dag_env), folder, _free_port(), _free_port(), scrape_interval="1s")
    yield endpoints.prometheus
    monitoring.stop(folder)


def _query(base_url: str, expr: str) -> list[dict]:
    response = requests.get(f"{base_url}/api/v1/query", params={"query": expr}, timeout=5)
    response.raise_for_status()
    return response.json()["data"]["result"]


def _scraped_after(base_url: str, expr: str, since: float) -> dict[tuple[str, str], float]:
    """The value of ``expr`` per (source, entity) of TARGETS, once Prometheus holds a sample of each scraped
    after ``since`` (unix time)."""
    deadline = time.monotonic() + SCRAPE_WAIT
    while True:
        samples = {(s["metric"].get("source"), s["metric"].get("entity")): s["value"] for s in _query(base_url, expr)}
        fresh = {key: float(value) for key, (stamp, value) in samples.items() if stamp >= since}
        if set(TARGETS) <= set(fresh):
            return {key: fresh[key] for key in TARGETS}
        assert time.monotonic() < deadline, f"no fresh {expr} for {TARGETS} after {SCRAPE_WAIT} s: {samples}"
        time.sleep(0.5)


def test_prometheus_holds_what_the_audit_trail_records(prometheus, dag_env, api, warehouse, dbt, tmp_path):
    settings = get_settings({**dag_env, "LAKE_URL": str(tmp_path / "lake")})
    api.clear_faults()
    api.set_clock(SANDBOX_NOW)
    try:
        loaded = {(source, entity): ingest(source, entity, START, END, settings=settings)["loaded"]
                  for source, entity in TARGETS}  # fmt: skip
    finally:
        api.set_clock(None)
    assert all(loaded.values()), loaded
    dbt("run", "-s", "source:audit+")
    built = time.time()

    audit = warehouse.execute(
        "SELECT source, entity, sum(loaded_count) FROM audit.ingestion_runs"
        " WHERE stage = 'load' AND status = 'success' GROUP BY source, entity"
    ).fetchall()
    assert {(source, entity): total for source, entity, total in audit} == loaded

    assert _scraped_after(prometheus, "elt_source_rows_loaded_total", built) == loaded
    assert _scraped_after(prometheus, "elt_source_rows_rejected_total", built) == dict.fromkeys(TARGETS, 0)
    assert _query(prometheus, 'pg_exporter_last_scrape_error{job="postgres-exporter"}')[0]["value"][1] == "0"

    freshness = _scraped_after(prometheus, "elt_source_seconds_since_last_success", built)
    last_success = _scraped_after(prometheus, "elt_source_last_success_timestamp_seconds", built)
    marts = warehouse.execute(
        "SELECT source, entity, seconds_since_last_success, extract(epoch FROM last_success_at)::float8"
        " FROM marts.mart_source_freshness"
    ).fetchall()
    by_target = {(source, entity): (seconds, stamp) for source, entity, seconds, stamp in marts}
    for target in TARGETS:
        seconds, stamp = by_target[target]
        assert last_success[target] == pytest.approx(stamp, abs=1e-3), target
        # Scraped at most a few seconds before the marts were read.
        assert 0 <= seconds - freshness[target] <= 5, (target, seconds, freshness[target])


@pytest.mark.parametrize(
    "args",
    [("check", "config", "prometheus.yml"), ("check", "rules", "alerts.yml"), ("test", "rules", "alerts_test.yml")],
    ids=["config", "rules", "rule unit tests"],
)
def test_promtool_accepts_the_shipped_prometheus_files(args):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip(f"promtool not found: {monitoring.INSTALL_HINT}")
    result = subprocess.run(
        [promtool, *args], cwd=PROMETHEUS_DIR, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _produced_metrics() -> set[str]:
    """Every metric name the exporter's custom queries and the StatsD mapping produce."""
    queries = yaml.safe_load(monitoring.QUERIES_FILE.read_text())
    names = {
        f"{query}_{column}"
        for query, spec in queries.items()
        for metric in spec["metrics"]
        for column, options in metric.items()
        if options["usage"] != "LABEL"
    }
    mapping = yaml.safe_load(MAPPING_FILE.read_text())["mappings"]
    return names | {rule["name"] for rule in mapping if rule.get("action") != "drop"}


def _named_metrics(expr: str) -> set[str]:
    return {HISTOGRAM_SERIES.sub("", name) for name in re.findall(r"\b((?:elt|airflow)_[a-z0-9_]+)", expr)}


def test_the_statsd_mapping_fills_every_label_from_a_wildcard():
    for rule in yaml.safe_load(MAPPING_FILE.read_text())["mappings"]:
        wildcards = rule["match"].count("*")
        for label, value in (rule.get("labels") or {}).items():
            numbers = [int(n) for n in re.findall(r"\$\{?(\d+)", value)]
            assert numbers, (rule["match"], label)
            assert max(numbers) <= wildcards, (rule["match"], label)


def test_dashboard_and_alerts_only_use_metrics_that_are_produced():
    produced = _produced_metrics()
    dashboard = json.loads(DASHBOARD_FILE.read_text())
    datasource = yaml.safe_load(DATASOURCE_FILE.read_text())["datasources"][0]
    assert dashboard["uid"]
    assert dashboard["schemaVersion"] >= 36
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    assert len(panels) >= 5
    for panel in panels:
        assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
        for target in panel["targets"]:
            used = _named_metrics(target["expr"])
            assert used, panel["title"]
            assert used <= produced, (panel["title"], used - produced)
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())["groups"]
    for rule in (rule for group in rules for rule in group["rules"]):
        assert _named_metrics(rule["expr"]) <= produced, rule["alert"]
