"""OpenLineage through Airflow's provider: ``fakestore_ingest`` and ``stocks_ingest`` run with a local HTTP receiver
as the transport's catalog, then ``stocks_ingest`` again with its API failing.

Every event the receiver got is parsed into the OpenLineage client's own models (``RunEvent`` and its datasets,
whose validators check the run id, the event type and time). The events of a run join into one graph: from each
API endpoint through the lake object and the bronze table to every mart of the source, and column by column
through the dbt models from the marts back to the bronze tables. No event holds a secret,
and the failed extraction's FAIL event carries its error, with the key redacted.
"""

from __future__ import annotations

import json
from collections import defaultdict

import orjson
import pytest
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from pytest_httpserver import HTTPServer

from python_scripts.ops.airflow_cli import AirflowCommandError, airflow_environment, run_dag
from python_scripts.settings import PROJECT_ROOT, get_settings, secret_values
from tests.support.airflow_ui import ARTIFACTS
from tests.support.pipeline import API_KEY

pytestmark = pytest.mark.e2e

RUNS = {"fakestore_ingest": "2025-01-16", "stocks_ingest": "2025-01-16"}
FAILING = ("stocks_ingest", "2025-01-17")
EVENTS_FILE = ARTIFACTS / "lineage" / "events.jsonl"  # every event received, for a look or a catalog's import
SOURCE_TABLES = {"/carts": "fakestore.carts", "/products": "fakestore.products", "/users": "fakestore.users",
                 "/query": "alphavantage.daily_prices"}  # fmt: skip


def marts_downstream(source_table: str) -> set[str]:
    """The marts dbt's manifest puts downstream of a source table: what its endpoint's lineage must reach."""
    manifest = json.loads((PROJECT_ROOT / "dbt_project" / "target" / "manifest.json").read_text())
    start = next(uid for uid in manifest["sources"] if uid.endswith(f".{source_table}"))
    seen, todo = set(), [start]
    while todo:
        for child in manifest["child_map"].get(todo.pop(), []):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    nodes = manifest["nodes"]
    return {nodes[uid]["name"] for uid in seen if uid in nodes and nodes[uid]["name"].startswith("mart_")}


def parse(body: bytes) -> tuple[RunEvent, dict]:
    """The event in the client's models (validated as they are built), and the raw JSON for its facets."""
    raw = orjson.loads(body)

    def datasets(kind, items):
        return [kind(namespace=item["namespace"], name=item["name"]) for item in items or []]

    event = RunEvent(
        eventType=RunState(raw["eventType"]),
        eventTime=raw["eventTime"],
        run=Run(runId=raw["run"]["runId"]),
        job=Job(namespace=raw["job"]["namespace"], name=raw["job"]["name"]),
        producer=raw["producer"],
        inputs=datasets(InputDataset, raw.get("inputs")),
        outputs=datasets(OutputDataset, raw.get("outputs")),
    )
    return event, raw


@pytest.fixture(scope="module")
def events(dag_env, wh, api) -> dict:
    wh.reset()
    receiver = HTTPServer()
    receiver.expect_request("/api/v1/lineage", method="POST").respond_with_data("", status=201)
    receiver.start()
    try:
        env = airflow_environment({**dag_env, "OPENLINEAGE_URL": receiver.url_for("/").rstrip("/")})
        for dag_id, date in RUNS.items():
            run_dag(dag_id, date, env)
        ok = len(receiver.log)
        api.add_fault(kind="status", path="/query", status=500, body={"detail": "upstream down"}, times=1000)
        try:
            with pytest.raises(AirflowCommandError):
                run_dag(*FAILING, env)
        finally:
            api.clear_faults()
        bodies = [request.get_data() for request, _ in receiver.log]
        EVENTS_FILE.parent.mkdir(parents=True, exist_ok=True)
        EVENTS_FILE.write_bytes(b"".join(body.strip() + b"\n" for body in bodies))
    finally:
        receiver.clear()
        receiver.stop()
    return {"ok": [parse(body) for body in bodies[:ok]], "failing": [parse(body) for body in bodies[ok:]],
            "bodies": bodies, "settings": get_settings(env)}  # fmt: skip


def task_runs(parsed) -> dict[str, list[tuple[RunEvent, dict]]]:
    """The events of each task run, by run id (DAG-level events have no parent)."""
    runs = defaultdict(list)
    for event, raw in parsed:
        if "parent" in raw["run"].get("facets", {}):
            runs[event.run.runId].append((event, raw))
    return runs


def test_every_task_run_has_a_start_and_a_complete_with_its_dag_run_as_parent(events):
    runs = task_runs(events["ok"])
    jobs = {events_[0][0].job.name for events_ in runs.values()}
    for dag_id in RUNS:
        assert f"{dag_id}.extract" in jobs
        assert f"{dag_id}.load" in jobs
        assert any(job.startswith(f"{dag_id}.transform.") for job in jobs), sorted(jobs)
    for run_id, run_events in runs.items():
        states = {event.eventType for event, _ in run_events}
        assert {RunState.START, RunState.COMPLETE} <= states, (run_events[0][0].job.name, states)
        parents = {orjson.dumps(raw["run"]["facets"]["parent"]["run"]) for _, raw in run_events}
        assert len(parents) == 1, f"{run_id}: events disagree on the parent run"


def lineage_graph(parsed) -> dict[str, set[str]]:
    """Edges dataset → job → dataset, from every event of every run (datasets as ``namespace/name``)."""
    edges: dict[str, set[str]] = defaultdict(set)
    for event, _ in parsed:
        job = f"job:{event.job.name}"
        for dataset in event.inputs or []:
            edges[f"{dataset.namespace}/{dataset.name}"].add(job)
        for dataset in event.outputs or []:
            edges[job].add(f"{dataset.namespace}/{dataset.name}")
    return edges


def reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(edges.get(node, ()))
    return seen


@pytest.mark.parametrize("endpoint", SOURCE_TABLES)
def test_each_api_endpoint_reaches_every_mart_built_from_it(events, endpoint):
    settings = events["settings"]
    edges = lineage_graph(events["ok"])
    api_nodes = [node for node in edges if node.endswith(endpoint) and node.startswith("http")]
    assert len(api_nodes) == 1, sorted(node for node in edges if node.startswith("http"))
    seen = reachable(edges, api_nodes[0])
    namespace = f"postgres://{settings.postgres.host}:{settings.postgres.port}"
    marts = marts_downstream(SOURCE_TABLES[endpoint])
    assert marts
    for mart in marts:
        assert f"{namespace}/{settings.warehouse_db}.marts.{mart}" in seen, mart
    assert any(node.startswith(f"{namespace}/{settings.warehouse_db}.bronze.") for node in seen)
    assert any(node.startswith("file/") and "/raw/" in node for node in seen), "no lake object on the path"


def column_sources(parsed, table: str, column: str) -> set[tuple[str, str]]:
    """Every ``(table, column)`` a column is computed from, following the dbt events' column lineage facets
    from model to model (tables as ``database.schema.table``)."""
    edges: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for _, raw in parsed:
        for output in raw.get("outputs") or []:
            for field, lineage in output.get("facets", {}).get("columnLineage", {}).get("fields", {}).items():
                edges[output["name"], field] |= {(item["name"], item["field"]) for item in lineage["inputFields"]}
    seen, todo = set(), [(table, column)]
    while todo:
        for source in edges.get(todo.pop(), ()):
            if source not in seen:
                seen.add(source)
                todo.append(source)
    return seen


def test_the_column_lineage_of_sales_revenue_reaches_the_carts_and_the_products(events):
    database = events["settings"].warehouse_db
    sources = column_sources(events["ok"], f"{database}.marts.mart_sales_overview", "revenue")
    assert (f"{database}.core.fct_cart_items", "line_revenue") in sources
    assert (f"{database}.core.snp_fakestore__products", "price") in sources  # through the snapshot
    bronze = {source for source in sources if ".bronze." in source[0]}
    # quantity from the cart's payload, times the price from the product's
    assert bronze == {(f"{database}.bronze.fakestore_carts", "payload"),
                      (f"{database}.bronze.fakestore_products", "payload")}  # fmt: skip


def test_extract_and_load_report_their_counts_and_the_bronze_schema(events, wh):
    outputs = [
        output for _, raw in events["ok"] if raw["job"]["name"].endswith((".extract", ".load"))
        for output in raw.get("outputs") or []
    ]  # fmt: skip
    rows: dict[str, int] = defaultdict(int)
    for output in outputs:
        rows[output["name"]] += output["outputFacets"]["outputStatistics"]["rowCount"]
        if ".bronze." in output["name"]:
            fields = output["facets"]["schema"]["fields"]
            assert [field["name"] for field in fields][:4] == ["batch_id", "record_no", "record_hash", "payload"]
    tables = {name: count for name, count in rows.items() if ".bronze." in name}
    assert len(tables) == 4  # products, users, carts, daily prices
    for name, count in tables.items():
        assert count == wh.execute(f"SELECT count(*) FROM {name.split('.', 1)[1]}").fetchone()[0], name  # noqa: S608
    raw_carts = [count for name, count in rows.items() if "/raw/fakestore/carts/" in name]
    assert raw_carts == [tables[next(name for name in tables if name.endswith("fakestore_carts"))]]
    rejected = {name: count for name, count in rows.items() if "/rejected/alphavantage/" in name}
    assert sorted(rejected.values()) == [0, 0, 1]  # the bad symbol, quarantined


def test_no_event_holds_a_secret_or_a_query_string(events):
    secrets = [API_KEY, *secret_values(events["settings"])]
    for body in events["bodies"]:
        text = body.decode()
        for secret in filter(None, secrets):
            assert secret not in text
    for event, _ in events["ok"] + events["failing"]:
        for dataset in (event.inputs or []) + (event.outputs or []):
            assert "?" not in dataset.name, dataset.name


def test_a_failed_extraction_sends_fail_with_its_error_redacted(events):
    fails = [raw for event, raw in events["failing"] if event.eventType == RunState.FAIL
             and raw["job"]["name"] == f"{FAILING[0]}.extract"]  # fmt: skip
    assert fails
    message = fails[-1]["run"]["facets"]["errorMessage"]["message"]
    assert "status=500" in message
    assert "/query?function=TIME_SERIES_DAILY" in message
    assert "apikey" not in message
    assert API_KEY not in message
