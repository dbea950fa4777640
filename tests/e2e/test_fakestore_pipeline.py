"""fakestore_ingest end to end through Airflow: sandbox → lake → bronze → dbt staging/intermediate/core/marts.

One sequence shared by the tests of this module (each DAG run costs about a minute and a half), against a sandbox
that serves no cart before its day, as a live API:
1. run the DAG for day 1 (the carts' first load: every cart so far); 2. run the same day again; 3. change a
user's city and a product's price in the sandbox; 4. run the DAG for day 2 (the carts from the cursor on).
Expected figures are computed here in Python from what the sandbox serves, never read back from the marts.
"""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest
from psycopg import sql

from python_scripts.warehouse.checksum import table_checksum
from tests.support.marts import sales_overview_from_api, sales_overview_from_mart
from tests.support.pipeline import live_fakestore

pytestmark = pytest.mark.e2e

DAY1, DAY1_WINDOW = "2025-01-11", {"enddate": "2025-01-11"}  # the first load: the whole history
DAY2, DAY2_WINDOW = "2025-01-12", {"startdate": "2025-01-11", "enddate": "2025-01-12"}
CORE_AND_MARTS = (
    "core.dim_users",
    "core.dim_products",
    "core.dim_date",
    "core.fct_carts",
    "core.fct_cart_items",
    "marts.mart_sales_overview",
    "marts.mart_product_performance",
    "marts.mart_customer_activity",
)
BRONZE = ("bronze.fakestore_products", "bronze.fakestore_users", "bronze.fakestore_carts")


@pytest.fixture(scope="module")
def pipeline(dag_env, wh):
    """Run the sequence once; return what each test needs to look at."""
    wh.reset()
    with live_fakestore(dag_env) as live:
        yield _run_sequence(live.run, wh, live.api)


def _run_sequence(run, wh, api) -> dict:
    state: dict = {}
    run(DAY1)
    state["day1_expected"] = sales_overview_from_api(api, DAY1_WINDOW)
    state["day1_mart"] = sales_overview_from_mart(wh)
    state["day1_bronze"] = {t: table_checksum(wh, t) for t in BRONZE}
    state["day1_tables"] = {t: table_checksum(wh, t) for t in CORE_AND_MARTS}

    run(DAY1)
    state["rerun_bronze"] = {t: table_checksum(wh, t) for t in BRONZE}
    state["rerun_tables"] = {t: table_checksum(wh, t) for t in CORE_AND_MARTS}

    api.set_clock(f"{DAY2}T00:00:00Z")  # day 2's carts exist from day 2's end on
    day2_carts = api.get("/carts", **DAY2_WINDOW)
    changed_user = day2_carts[0]["userId"]
    changed_product = day2_carts[0]["products"][0]["productId"]
    old_price = Decimal(str(next(p for p in api.get("/products") if p["id"] == changed_product)["price"]))
    new_price = old_price + Decimal("10.00")
    api.override("users", changed_user, {"address": {"city": "Oslo"}})
    api.override("products", changed_product, {"price": float(new_price)})
    try:
        run(DAY2)
        state["day2_expected"] = sales_overview_from_api(api, DAY2_WINDOW)
    finally:
        api.clear_overrides()
    state.update(
        changed_user=changed_user,
        changed_product=changed_product,
        old_price=old_price,
        new_price=new_price,
        day1_carts=api.get("/carts", **DAY1_WINDOW),
        day2_carts=day2_carts,
    )
    return state


def test_bronze_counts_equal_what_the_sandbox_served(pipeline, api, wh):
    counts = {t: pipeline["day1_bronze"][t][0] for t in BRONZE}
    assert counts["bronze.fakestore_products"] == len(api.get("/products"))
    assert counts["bronze.fakestore_users"] == len(api.get("/users"))
    assert counts["bronze.fakestore_carts"] == len(pipeline["day1_carts"]) > 0


def test_mart_sales_overview_matches_figures_computed_from_the_api(pipeline):
    assert pipeline["day1_mart"] == pipeline["day1_expected"]


def test_second_run_of_the_same_date_changes_nothing(pipeline):
    assert pipeline["rerun_bronze"] == pipeline["day1_bronze"]
    assert pipeline["rerun_tables"] == pipeline["day1_tables"]


def test_day2_marts_cover_both_days_with_the_prices_in_force(pipeline, wh):
    expected = {**pipeline["day1_expected"], **pipeline["day2_expected"]}
    assert sales_overview_from_mart(wh) == expected


def test_scd2_user_city_change_opens_a_new_version(pipeline, wh):
    versions = wh.execute(
        "SELECT city, valid_from::date::text, valid_to::date::text, is_current FROM core.dim_users "
        "WHERE user_id = %s ORDER BY valid_from",
        (pipeline["changed_user"],),
    ).fetchall()
    assert len(versions) == 2
    old, new = versions
    assert old[1:] == ("1900-01-01", DAY2_WINDOW["startdate"], False)
    assert new == ("oslo", DAY2_WINDOW["startdate"], "9999-12-31", True)
    assert old[0] != "oslo"


def test_scd2_price_change_keeps_old_carts_at_the_old_price(pipeline, wh):
    rows = wh.execute(
        "SELECT i.cart_id, i.unit_price FROM core.fct_cart_items i WHERE i.product_id = %s",
        (pipeline["changed_product"],),
    ).fetchall()
    day1_ids = {c["id"] for c in pipeline["day1_carts"]}
    day2_ids = {c["id"] for c in pipeline["day2_carts"]}
    assert any(cart_id in day2_ids for cart_id, _ in rows)
    for cart_id, unit_price in rows:
        if cart_id in day1_ids:
            assert unit_price == pipeline["old_price"]
        if cart_id in day2_ids:
            assert unit_price == pipeline["new_price"]
    versions = wh.execute(
        "SELECT price, is_current FROM core.dim_products WHERE product_id = %s ORDER BY valid_from",
        (pipeline["changed_product"],),
    ).fetchall()
    assert versions == [(pipeline["old_price"], False), (pipeline["new_price"], True)]


@pytest.mark.parametrize(
    "table",
    ["bronze.fakestore_carts", "staging.stg_fakestore__carts", "intermediate.int_fakestore__carts", "core.fct_carts"],
)
def test_bi_reader_is_denied_outside_the_marts(pipeline, wh, table):
    with psycopg.connect(wh.settings.postgres.url(wh.conn.info.dbname), autocommit=True) as conn:
        conn.execute("SET ROLE bi_reader")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            conn.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.Identifier(*table.split("."))))


@pytest.mark.parametrize("mart", ["mart_sales_overview", "mart_product_performance", "mart_customer_activity"])
def test_bi_reader_reads_the_marts(pipeline, wh, mart):
    with psycopg.connect(wh.settings.postgres.url(wh.conn.info.dbname), autocommit=True) as conn:
        conn.execute("SET ROLE bi_reader")
        assert conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("marts", mart))).fetchone()[0] > 0


def test_no_pii_columns_in_the_marts(pipeline, wh):
    columns = {
        name
        for (name,) in wh.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts'"
        ).fetchall()
    }
    pii = {
        "email",
        "phone",
        "password",
        "username",
        "first_name",
        "last_name",
        "street",
        "street_number",
        "zipcode",
        "latitude",
        "longitude",
    }
    assert columns
    assert not columns & pii


def test_audit_records_every_stage(pipeline, wh):
    rows = wh.execute(
        """
        SELECT entity, stage, count(*), bool_and(status = 'success'),
               bool_and(extracted_count = coalesce(loaded_count, valid_count) + rejected_count)
        FROM audit.ingestion_runs GROUP BY 1, 2 ORDER BY 1, 2
        """
    ).fetchall()
    assert rows == [
        (entity, stage, 3, True, True) for entity in ("carts", "products", "users") for stage in ("extract", "load")
    ]
