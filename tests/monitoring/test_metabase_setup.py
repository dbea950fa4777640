"""metabase-init's setup script (python_scripts/ops/metabase_setup.py) against a stand-in for Metabase's API over
real HTTP: a fresh Metabase gets its admin and the warehouse as bi_reader; a set-up one is only completed."""

from __future__ import annotations

import pytest

from python_scripts.ops.metabase_setup import WAREHOUSE_NAME, configure

ENV = {
    "METABASE_ADMIN_EMAIL": "admin@example.com",
    "METABASE_ADMIN_PASSWORD": "a-long-admin-passphrase",  # pragma: allowlist secret
    "WAREHOUSE_HOST": "postgres",
    "WAREHOUSE_PORT": "5432",
    "WAREHOUSE_DB": "warehouse",
    "BI_READER_PASSWORD": "bi-reader-passphrase",  # pragma: allowlist secret
}
SESSION = {"X-Metabase-Session": "session-1"}


@pytest.fixture
def metabase(httpserver):
    yield httpserver
    httpserver.check_assertions()


def test_a_fresh_metabase_gets_its_admin_and_the_warehouse_as_bi_reader(metabase):
    metabase.expect_ordered_request("/api/session/properties").respond_with_json(
        {"setup-token": "token-1", "has-user-setup": False}
    )
    metabase.expect_ordered_request("/api/setup", method="POST").respond_with_json({"id": "session-1"})
    metabase.expect_ordered_request("/api/database", method="GET", headers=SESSION).respond_with_json({"data": []})
    metabase.expect_ordered_request("/api/database", method="POST", headers=SESSION).respond_with_json({"id": 2})

    done = configure({**ENV, "METABASE_URL": metabase.url_for("/")})

    assert done == f"created the admin admin@example.com; connected {WAREHOUSE_NAME} as bi_reader"
    setup, database = (request.get_json() for request, _ in metabase.log if request.method == "POST")
    assert setup["token"] == "token-1"
    assert setup["user"]["email"] == "admin@example.com"
    assert database["engine"] == "postgres"
    details = database["details"]
    assert (details["host"], details["port"], details["dbname"], details["user"]) == (
        "postgres", 5432, "warehouse", "bi_reader"
    )  # fmt: skip
    assert details["password"] == ENV["BI_READER_PASSWORD"]


def test_a_set_up_metabase_with_the_warehouse_is_left_as_it_is(metabase):
    metabase.expect_ordered_request("/api/session/properties").respond_with_json(
        {"setup-token": None, "has-user-setup": True}
    )
    metabase.expect_ordered_request(
        "/api/session",
        method="POST",
        json={"username": ENV["METABASE_ADMIN_EMAIL"], "password": ENV["METABASE_ADMIN_PASSWORD"]},
    ).respond_with_json({"id": "session-1"})
    metabase.expect_ordered_request("/api/database", method="GET", headers=SESSION).respond_with_json(
        {"data": [{"id": 2, "name": WAREHOUSE_NAME}]}
    )

    assert configure({**ENV, "METABASE_URL": metabase.url_for("/")}) == f"already set up; {WAREHOUSE_NAME} is connected"
