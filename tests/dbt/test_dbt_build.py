"""`dbt build` of the whole project from the shell (profiles.yml reads the environment) on bronze loaded by the
pipeline from the sandbox: every source, so every model, snapshot and test runs."""

from __future__ import annotations


def test_every_node_passed_and_every_kind_ran(built_warehouse):
    statuses = {r["unique_id"]: r["status"] for r in built_warehouse.results}
    assert set(statuses.values()) <= {"success", "pass"}, {
        k: v for k, v in statuses.items() if v not in {"success", "pass"}
    }
    assert {uid.split(".")[0] for uid in statuses} >= {"model", "snapshot", "test"}
    assert sum(uid.startswith("test.") for uid in statuses) >= 40
    marts = {uid.split(".")[-1] for uid in statuses if uid.startswith("model.") and ".mart_" in uid}
    assert {"mart_sales_overview", "mart_weather_daily", "mart_stock_performance", "mart_order_status"} <= marts
