"""The fault suite: every fault real APIs and networks produce, injected into the sandbox for one extraction.

For each case the pipeline either recovers (it retries, then loaded + quarantined = extracted with no
duplicate key in bronze) or fails the step with a clear error while bronze keeps no part of the batch and
the audit trail records the failure; a failed case is then run again without the fault, as Airflow's task
retry would, and must complete with exact counts. Each case is reported in tests/artifacts/reliability/.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from python_scripts.ingest.pipeline import ingest
from tests.reliability.conftest import END, SANDBOX_NOW, START, BatchState, Target

pytestmark = pytest.mark.timeout(120)

PRODUCTS = Target("fakestore", "products")
USERS = Target("fakestore", "users")
CARTS = Target("fakestore", "carts")
WEATHER = Target("openweather", "observations", "London,GB")
PRICES = Target("alphavantage", "daily_prices", "IBM")
ORDERS = Target("orders", "orders")

PATHS = {
    PRODUCTS: "/products",
    USERS: "/users",
    CARTS: "/carts",
    WEATHER: "/data/2.5/weather",
    PRICES: "/query",
    ORDERS: "/orders",
}

LONG_TEXT = "long text " * 20_000  # 200,000 characters
NON_ASCII = "Zürich — 東京 🚀 naïve café ﬁ \u200b"
SQL_TEXT = "Robert'); DROP TABLE bronze.fakestore_users; -- \\ ' \""
THROTTLED = "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day."


@dataclass(frozen=True)
class Case:
    id: str
    target: Target
    faults: tuple[dict[str, Any], ...]
    recovers: bool
    # What extraction must count, relative to a clean run: +n records (duplicates), or exactly n.
    extra_records: int = 0
    exact_records: int | None = None
    quarantined: int | str = 0  # a count, or "all"
    reason: str = ""  # in every quarantine reason
    error: str = ""  # in the failure, for cases that do not recover
    min_requests: int = 1  # requests the sandbox must have seen for the endpoint (retries)
    env: dict[str, str] = field(default_factory=dict)
    check: Callable[[Any, Target], None] | None = None


def _payload_field(name: str, expected: str) -> Callable[[Any, Target], None]:
    def check(conn, target: Target) -> None:
        from psycopg import sql

        query = sql.SQL("SELECT payload->>{} FROM {} WHERE batch_id = %s ORDER BY record_no LIMIT 1").format(
            sql.Literal(name), target.table
        )
        assert conn.execute(query, (target.batch_id,)).fetchone()[0] == expected
        # The hostile text is data, never SQL: every table the pipeline uses is still there.
        for table in ("bronze.fakestore_users", "bronze.fakestore_products", "audit.ingestion_runs"):
            assert conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is not None

    return check


def _records(target: Target, op: str, **options) -> dict[str, Any]:
    return {"kind": "records", "path": PATHS[target], "op": op, **options}


def _status(target: Target, status: int, times: int = 1, **options) -> dict[str, Any]:
    return {"kind": "status", "path": PATHS[target], "status": status, "times": times, **options}


CASES = [
    # Transport and HTTP faults the session's retries absorb.
    Case("429 with Retry-After", PRODUCTS, (_status(PRODUCTS, 429, 2, headers={"Retry-After": "1"}),), True,
         min_requests=3),
    Case("500 Internal Server Error", USERS, (_status(USERS, 500),), True, min_requests=2),
    Case("502 Bad Gateway", CARTS, (_status(CARTS, 502),), True, min_requests=2),
    Case("503 with Retry-After", ORDERS, (_status(ORDERS, 503, headers={"Retry-After": "1"}),), True,
         min_requests=2),
    Case("connection reset before the response", PRODUCTS,
         ({"kind": "reset", "path": "/products"},), True, min_requests=2),
    Case("read timeout (no answer for 4 s)", USERS, ({"kind": "delay", "path": "/users", "seconds": 4},), True,
         min_requests=2),
    Case("slow body within the read timeout", CARTS,
         ({"kind": "slow_body", "path": "/carts", "chunk": 2048, "interval": 0.05},), True),
    # Faults in the middle of a body, or bodies that are not what was asked: a clear failure, nothing landed.
    Case("connection reset mid-body", PRODUCTS, ({"kind": "reset", "path": "/products", "after_bytes": 600},),
         False, error="response body interrupted"),
    Case("slow body past the read timeout", CARTS,
         ({"kind": "slow_body", "path": "/carts", "chunk": 256, "interval": 3},), False,
         error="response body interrupted"),
    Case("truncated JSON", USERS, ({"kind": "truncate", "path": "/users", "length": 700},), False,
         error="truncated or malformed JSON"),
    Case("malformed JSON (HTML labelled JSON)", ORDERS, ({"kind": "malformed", "path": "/orders"},), False,
         error="expected a JSON array or object"),
    Case("wrong content type", PRODUCTS, ({"kind": "content_type", "path": "/products"},), False,
         error="expected a JSON content type"),
    Case("503 past the retry budget", USERS, (_status(USERS, 503, 10),), False, error="503", min_requests=4),
    Case("Alpha Vantage rate-limit body (HTTP 200), persistent", PRICES,
         (_status(PRICES, 200, 5, body={"Information": THROTTLED}),), False, error="refused with 'Information'",
         min_requests=3),
    # Throttling and per-record errors that resolve into loaded and quarantined records.
    Case("Alpha Vantage 'Note' throttle body once", PRICES,
         (_status(PRICES, 200, body={"Note": THROTTLED}),), True, min_requests=2),
    Case("Alpha Vantage error for an unknown symbol", PRICES,
         (_status(PRICES, 200, body={"Error Message": "Invalid API call. Please retry or visit the documentation."}),),
         True, exact_records=1, quarantined="all", reason="Alpha Vantage error"),
    Case("OpenWeather 404 city not found", WEATHER,
         (_status(WEATHER, 404, body={"cod": "404", "message": "city not found"}),), True, exact_records=1,
         quarantined="all", reason="city not found"),
    # Schema drift and hostile values in otherwise healthy responses.
    Case("schema drift: field added", PRODUCTS,
         (_records(PRODUCTS, "add_field", field="discount", value={"pct": 10}, select="all"),), True,
         check=_payload_field("discount", '{"pct": 10}')),
    Case("schema drift: required field removed", PRODUCTS,
         (_records(PRODUCTS, "drop_field", field="price", select=[0, 1]),), True, quarantined=2,
         reason="'price' is a required property"),
    Case("schema drift: field retyped", CARTS, (_records(CARTS, "set", field="userId", value="two"),), True,
         quarantined=1, reason="is not of type 'integer'"),
    Case("schema drift: nested field retyped", WEATHER,
         (_records(WEATHER, "set", field="main.temp", value="hot"),), True, quarantined=1,
         reason="is not of type 'number'"),
    Case("duplicate ids", USERS, (_records(USERS, "duplicate", select=[0, 1]),), True, extra_records=2,
         quarantined=2, reason="duplicate key id="),
    Case("duplicate order ids", ORDERS, (_records(ORDERS, "duplicate", select=[3]),), True, extra_records=1,
         quarantined=1, reason="duplicate key order_id="),
    Case("null in a required field", PRODUCTS, (_records(PRODUCTS, "set", field="title", value=None),), True,
         quarantined=1, reason="None is not of type 'string'"),
    Case("nulls in every day's close price", PRICES,
         (_records(PRICES, "set", field="4. close", value=None, select="all"),), True, quarantined="all",
         reason="None is not of type 'string'"),
    Case("NUL character in a string", USERS, (_records(USERS, "set", field="username", value="nul\u0000byte"),),
         True, quarantined=1, reason="NUL character"),
    Case("very long string (200,000 characters)", PRODUCTS,
         (_records(PRODUCTS, "set", field="description", value=LONG_TEXT),), True,
         check=_payload_field("description", LONG_TEXT)),
    Case("non-ASCII text", PRODUCTS, (_records(PRODUCTS, "set", field="title", value=NON_ASCII),), True,
         check=_payload_field("title", NON_ASCII)),
    Case("SQL-looking string", USERS, (_records(USERS, "set", field="username", value=SQL_TEXT),), True,
         check=_payload_field("username", SQL_TEXT)),
]  # fmt: skip


@pytest.fixture(scope="module")
def clean_counts(reliability_settings, api, wh) -> dict[Target, int]:
    """Records each target extracts without faults (from the sandbox itself, through the pipeline)."""
    api.clear_faults()
    api.clear_overrides()
    api.set_clock(SANDBOX_NOW)
    counts = {}
    for target in PATHS:
        BatchState(wh.conn, target).clear()
        result = ingest(target.source, target.entity, START, END, partition=target.partition,
                        settings=reliability_settings)  # fmt: skip
        assert result["rejected"] == 0, f"{target}: the clean sandbox should give valid records"
        assert result["loaded"] == result["extracted"] > 0
        counts[target] = result["extracted"]
    return counts


def _run(case: Case, settings) -> tuple[dict | None, Exception | None]:
    try:
        return ingest(case.target.source, case.target.entity, START, END, partition=case.target.partition,
                      settings=settings), None  # fmt: skip
    except Exception as exc:  # the pipeline's own failure is what the case inspects
        return None, exc


def _requests_to(api, path: str) -> int:
    return sum(1 for entry in api.requests() if entry["path"] == path)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_fault(case, clean_counts, reliability_env, sandbox_api, wh, fault_report):
    from python_scripts.settings import get_settings

    settings = get_settings({**reliability_env, **case.env})
    target, state = case.target, BatchState(wh.conn, case.target)
    state.clear()
    for fault in case.faults:
        sandbox_api.add_fault(**fault)

    result, error = _run(case, settings)
    requests_seen = _requests_to(sandbox_api, PATHS[target])
    assert requests_seen >= case.min_requests, f"expected retries, the sandbox saw {requests_seen} request(s)"
    expected = case.exact_records if case.exact_records is not None else clean_counts[target] + case.extra_records
    row = {"fault": case.id, "endpoint": f"{PATHS[target]} ({target})", "requests": requests_seen}

    if case.recovers:
        assert error is None, f"expected recovery, got {type(error).__name__}: {error}"
        assert sandbox_api.get("/__sandbox/faults") == [], "every injected fault should have been served"
        quarantined = expected if case.quarantined == "all" else case.quarantined
        assert result["extracted"] == expected
        assert result["rejected"] == quarantined
        assert result["loaded"] + result["rejected"] == result["extracted"]
        rows, keys = state.bronze()
        assert rows == keys == result["loaded"], "bronze must hold each loaded record once, no duplicate key"
        reasons = state.rejects()
        assert len(reasons) == quarantined
        assert all(case.reason in reason for reason in reasons), reasons
        assert [(r["stage"], r["status"]) for r in state.audit()] == [("extract", "success"), ("load", "success")]
        if case.check:
            case.check(wh.conn, target)
        row |= {
            "outcome": "recovered" if not quarantined else "recovered, bad records quarantined",
            "extracted": result["extracted"],
            "loaded": result["loaded"],
            "quarantined": result["rejected"],
            "bronze_dup_keys": rows - keys,
            "evidence": reasons[0][:120] if reasons else "",
        }
    else:
        assert error is not None, "expected the extraction to fail"
        message = str(error)
        assert case.error in message, message
        assert settings.source("openweather").api_key.get_secret_value() not in message
        assert state.bronze() == (0, 0), "no part of a failed batch may reach bronze"
        assert state.rejects() == []
        audit = state.audit()
        assert [(r["stage"], r["status"]) for r in audit] == [("extract", "failed")]
        assert case.error in audit[0]["error"]

        # The task's retry: the fault is gone, the same step runs again and completes exactly.
        sandbox_api.clear_faults()
        result, error = _run(case, settings)
        assert error is None, error
        assert result["extracted"] == result["loaded"] == expected
        rows, keys = state.bronze()
        assert rows == keys == expected
        statuses = [(r["stage"], r["status"]) for r in state.audit()]
        assert statuses == [("extract", "failed"), ("extract", "success"), ("load", "success")]
        row |= {
            "outcome": "failed cleanly (0 rows landed); retry loaded all",
            "extracted": f"0 → {result['extracted']}",
            "loaded": f"0 → {result['loaded']}",
            "quarantined": result["rejected"],
            "bronze_dup_keys": rows - keys,
            "evidence": message[:160],
        }
    fault_report.add(**row)
