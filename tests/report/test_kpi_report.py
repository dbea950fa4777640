"""The KPI dashboard (``make report``) on a warehouse filled by the pipeline: the pipeline-health views read as
bi_reader, then the HTML report opened in headless Chromium, every page visited and every chart checked for data.

The warehouse is the one tests/dbt builds (``built_warehouse``: every source loaded by the pipeline, then one
``dbt build``); an empty warehouse gives a report of placeholders.
"""

from __future__ import annotations

import re
import shutil
import time

import psycopg
import pytest
from playwright.sync_api import sync_playwright
from psycopg import sql

from python_scripts.ingest.pipeline import ingest
from python_scripts.report import build_report
from python_scripts.report.data import connect_as_bi_reader
from python_scripts.report.pages import PAGES
from python_scripts.settings import PROJECT_ROOT, Settings, get_settings
from python_scripts.sources import SOURCES
from python_scripts.warehouse.init import apply_sql_init
from tests.support.warehouse import TEST_AIRFLOW_DB, TEST_WAREHOUSE_DB

ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts" / "report"
# The marts of each source's DAG.
DAG_MARTS = {
    "fakestore_ingest": ("mart_sales_overview", "mart_product_performance", "mart_customer_activity"),
    "weather_ingest": ("mart_weather_daily",),
    "stocks_ingest": ("mart_stock_performance",),
    "orders_batch": ("mart_order_status",),
}
HEALTH_MARTS = ("mart_pipeline_runs", "mart_source_freshness")
UI_TIMEOUT = 30_000

# Per chart: its traces, how many non-null values each has, and how many marks (points, bars, lines, boxes,
# table cells) are drawn in its SVG.
CHARTS_JS = """
(page) => [...document.getElementById(page).querySelectorAll(".js-plotly-plot")].map((plot) => ({
  id: plot.id,
  values: plot.data.map((trace) => {
    const values = trace.type === "table" ? trace.cells.values[0] : trace.y ?? trace.x;
    return Array.from(values ?? []).filter((value) => value !== null).length;
  }),
  marks: plot.querySelectorAll("path.point, g.point path, path.js-line, path.box, g.cell-text-holder").length,
}))
"""


def mart_rows(wh, mart: str) -> int:
    """Rows in ``marts.<mart>``, 0 when dbt has not built it."""
    if wh.execute("SELECT to_regclass(%s)", (f"marts.{mart}",)).fetchone()[0] is None:
        return 0
    return wh.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("marts", mart))).fetchone()[0]


@pytest.fixture(scope="module")
def report_settings(built_warehouse) -> Settings:
    return get_settings(built_warehouse.env)


@pytest.fixture(scope="module")
def wh(built_warehouse):
    """The built warehouse, which this module reads."""
    return built_warehouse.wh


def test_every_mart_has_rows(built_warehouse, wh):
    marts = [mart for group in DAG_MARTS.values() for mart in group] + list(HEALTH_MARTS)
    assert [mart for mart in marts if mart_rows(wh, mart) == 0] == []


def test_bi_reader_reads_the_health_views_but_not_the_audit_schema(built_warehouse, report_settings):
    with connect_as_bi_reader(report_settings) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == "bi_reader"
        assert conn.execute("SELECT count(*) FROM marts.mart_pipeline_runs").fetchone()[0] > 0
        assert conn.execute("SELECT count(*) FROM marts.mart_source_freshness").fetchone()[0] > 0
        for table in ("ingestion_runs", "rejected_records"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql.SQL("SELECT 1 FROM {}").format(sql.Identifier("audit", table)))


def test_a_rerun_shows_at_once_and_counts_its_batch_once(built_warehouse, wh):
    """The health marts are views: a batch loaded again shows without any dbt run, as two more attempts and a
    newer success, while the totals still count the batch once."""
    freshness = (
        "SELECT rows_loaded_total, last_batch_loaded, last_success_at FROM marts.mart_source_freshness"
        " WHERE source = 'fakestore' AND entity = 'products'"
    )
    attempts = "SELECT count(*) FROM marts.mart_pipeline_runs WHERE source = 'fakestore' AND entity = 'products'"
    start, end = wh.execute(
        "SELECT interval_start, interval_end FROM marts.mart_pipeline_runs WHERE source = 'fakestore'"
        " AND entity = 'products' AND stage = 'load' AND status = 'success' ORDER BY run_id DESC LIMIT 1"
    ).fetchone()
    loaded, last_batch, last_success = wh.execute(freshness).fetchone()
    before = wh.execute(attempts).fetchone()[0]

    ingest("fakestore", "products", start, end, settings=get_settings(built_warehouse.env))

    assert wh.execute(attempts).fetchone()[0] == before + 2
    rerun_loaded, rerun_last_batch, rerun_success = wh.execute(freshness).fetchone()
    assert (rerun_loaded, rerun_last_batch) == (loaded, last_batch)
    assert rerun_success > last_success


def test_freshness_totals_match_bronze_and_the_quarantine(built_warehouse, wh):
    """Each batch counts once however often it was rerun: the totals equal what bronze and the quarantine hold."""
    rows = wh.execute(
        "SELECT source, entity, rows_loaded_total, rows_rejected_total FROM marts.mart_source_freshness"
    ).fetchall()
    registered = {(name, entity) for name, source in SOURCES.items() for entity in source.entity_names}
    rows = [row for row in rows if row[:2] in registered]
    assert rows
    for source, entity, loaded, rejected in rows:
        table = sql.Identifier("bronze", f"{source}_{entity}")
        assert wh.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()[0] == loaded, table
        quarantined = wh.execute(
            "SELECT count(*) FROM audit.rejected_records WHERE source = %s AND entity = %s", (source, entity)
        ).fetchone()[0]
        assert quarantined == rejected, (source, entity)


def test_freshness_is_computed_when_queried(built_warehouse, wh):
    query = "SELECT sum(seconds_since_last_success) FROM marts.mart_source_freshness"
    before = wh.execute(query).fetchone()[0]
    time.sleep(1.1)
    assert wh.execute(query).fetchone()[0] > before


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium, as Playwright cannot download its own browser here. Closed with the module:
    one sync Playwright at a time per process, and other modules start their own."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed: run `make test-tools`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"], timeout=UI_TIMEOUT)
        yield browser
        browser.close()


def test_every_page_of_the_report_shows_every_chart_with_data(built_warehouse, report_settings, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    report = build_report(report_settings, ARTIFACTS / "kpi.html")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto(report.as_uri())
    charts: dict[str, list[dict]] = {}
    for spec in PAGES:
        page.click(f'nav a[href="#{spec.slug}"]')
        section = page.locator(f"section#{spec.slug}[data-ready]")
        section.wait_for(state="visible", timeout=UI_TIMEOUT)
        assert page.locator("section.page:visible").count() == 1
        page.screenshot(path=ARTIFACTS / f"{spec.slug}.png", full_page=True)
        assert section.locator(".no-data").count() == 0, section.locator(".no-data").all_inner_texts()
        charts[spec.slug] = page.evaluate(CHARTS_JS, spec.slug)
    page.close()
    assert errors == []
    for spec in PAGES:
        found = charts[spec.slug]
        assert len(found) == len(spec.charts), (spec.slug, found)
        for chart in found:
            assert chart["values"], chart
            assert all(count > 0 for count in chart["values"]), chart
            assert chart["marks"] > 0, chart


def test_an_empty_warehouse_gives_placeholders_not_errors(pg_server, tmp_path):
    """A warehouse where dbt never ran (no marts at all): every chart is a "no data yet" panel."""
    settings = get_settings().replace(warehouse_db=f"{TEST_WAREHOUSE_DB}_empty")
    apply_sql_init(settings, settings.warehouse_db, TEST_AIRFLOW_DB)
    try:
        html = build_report(settings, tmp_path / "kpi.html").read_text()
    finally:
        with psycopg.connect(settings.postgres.url("postgres"), autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(settings.warehouse_db))
            )
    placeholders = re.findall(r'<div class="no-data">No data yet: <code>marts\.(\w+)</code>', html)
    assert len(placeholders) == sum(len(spec.charts) for spec in PAGES)
    assert set(placeholders) >= {"mart_sales_overview", "mart_stock_performance", "mart_source_freshness"}
    assert 'class="plotly-graph-div"' not in html
