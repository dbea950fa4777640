"""The synthetic orders feed: batch shape, how orders evolve between batches, parameters, determinism."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import orjson
import pytest
import requests

from python_scripts.sandbox import FakeStoreConfig, Orders, OrdersConfig, SandboxConfig
from tests.sandbox.support import CONFIG, validate

TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"
ORDER_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["order_id", "customer_id", "status", "amount", "currency", "created_at", "updated_at"],
        "additionalProperties": False,
        "properties": {
            "order_id": {"type": "integer", "minimum": 1},
            "customer_id": {"type": "integer", "minimum": 1, "maximum": 10},
            "status": {"enum": ["pending", "processing", "shipped", "delivered", "cancelled"]},
            "amount": {"type": "number", "exclusiveMinimum": 0},
            "currency": {"enum": ["USD", "EUR", "GBP"]},
            "created_at": {"type": "string", "pattern": TIMESTAMP},
            "updated_at": {"type": "string", "pattern": TIMESTAMP},
        },
    },
}
FIXED = ("customer_id", "amount", "currency", "created_at")
PROGRESS = ["pending", "processing", "shipped", "delivered"]


def batch(client, as_of: str, **params) -> list[dict]:
    response = client.get("/orders", as_of=as_of, **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def test_a_batch_has_the_feed_shape(sandbox):
    orders = batch(sandbox, "2025-01-10T00:00:00Z")
    validate(orders, ORDER_SCHEMA)
    assert [order["order_id"] for order in orders] == list(range(1, 101))
    assert {order["updated_at"] for order in orders} == {"2025-01-10T00:00:00Z"}
    for order in orders:
        assert round(order["amount"], 2) == order["amount"]
        assert order["created_at"] < "2024-12-01T00:00:00Z"
        assert order["created_at"] <= order["updated_at"]
    assert list(orders[0]) == ["order_id", "customer_id", "status", "amount", "currency", "created_at", "updated_at"]


def test_three_batches_resend_the_same_orders_updated(sandbox):
    as_ofs = ["2024-12-10T00:00:00Z", "2024-12-11T00:00:00Z", "2024-12-12T06:30:00Z"]
    batches = [batch(sandbox, as_of) for as_of in as_ofs]
    records = [order for orders in batches for order in orders]
    assert len(records) == 300
    assert len({order["order_id"] for order in records}) == 100
    for orders, as_of in zip(batches, as_ofs, strict=True):
        assert [order["order_id"] for order in orders] == list(range(1, 101))
        assert {order["updated_at"] for order in orders} == {as_of}
    for versions in zip(*batches, strict=True):
        assert len({tuple(order[key] for key in FIXED) for order in versions}) == 1
    changed = sum(a["status"] != b["status"] for a, b in zip(batches[0], batches[2], strict=True))
    assert changed > 0


def test_statuses_only_move_forward_and_cancelled_orders_stay_cancelled(sandbox):
    start = datetime(2024, 12, 1, tzinfo=UTC)
    as_ofs = [(start + timedelta(days=4 * n)).strftime("%Y-%m-%dT%H:%M:%SZ") for n in range(30)]
    history: dict[int, list[str]] = {}
    for as_of in as_ofs:
        for order in batch(sandbox, as_of, size=300):
            history.setdefault(order["order_id"], []).append(order["status"])
    seen = {status for statuses in history.values() for status in statuses}
    assert seen == {"pending", "processing", "shipped", "delivered", "cancelled"}
    cancelled = 0
    for statuses in history.values():
        if "cancelled" in statuses:
            cancelled += 1
            first = statuses.index("cancelled")
            assert set(statuses[first:]) == {"cancelled"}
            assert not {"shipped", "delivered"} & set(statuses[:first])
            statuses = statuses[:first]
        ranks = [PROGRESS.index(status) for status in statuses]
        assert ranks == sorted(ranks)
    assert 0 < cancelled < 60


def test_an_order_depends_only_on_its_id_and_as_of(sandbox):
    small = batch(sandbox, "2025-01-03T08:00:00Z", size=7)
    large = batch(sandbox, "2025-01-03T08:00:00Z", size=2500)
    assert large[:7] == small
    assert [order["order_id"] for order in large] == list(range(1, 2501))
    later = batch(sandbox, "2025-02-03T08:00:00Z", size=2500)
    assert [{k: o[k] for k in FIXED} for o in later] == [{k: o[k] for k in FIXED} for o in large]


def test_default_size_is_100_and_size_1_is_one_order(sandbox):
    assert len(batch(sandbox, "2025-01-10T00:00:00Z")) == 100
    assert [order["order_id"] for order in batch(sandbox, "2025-01-10T00:00:00Z", size=1)] == [1]


def test_as_of_is_normalised_to_utc_seconds(sandbox):
    orders = batch(sandbox, "2025-01-10T01:30:15.250+01:00", size=3)
    assert {order["updated_at"] for order in orders} == {"2025-01-10T00:30:15Z"}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"as_of": ""},
        {"as_of": "2025-01-10"},
        {"as_of": "2025-01-10T00:00:00"},
        {"as_of": "yesterday"},
        {"as_of": "2025-13-10T00:00:00Z"},
        {"as_of": "2024-11-30T23:59:59Z"},
        {"as_of": "2025-01-10T00:00:00Z", "size": "0"},
        {"as_of": "2025-01-10T00:00:00Z", "size": "-5"},
        {"as_of": "2025-01-10T00:00:00Z", "size": "1000001"},
        {"as_of": "2025-01-10T00:00:00Z", "size": "ten"},
    ],
)
def test_bad_parameters_answer_400_with_a_json_error(sandbox, params):
    response = sandbox.get("/orders", **params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == "error"
    assert body["message"]


def test_a_large_batch_streams(sandbox):
    params = {"as_of": "2025-01-10T00:00:00Z", "size": "150000"}
    with requests.get(sandbox.url + "/orders", params=params, stream=True, timeout=60) as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers
        body = b"".join(response.iter_content(chunk_size=None))
    orders = orjson.loads(body)
    assert len(orders) == 150_000
    assert orders[-1]["order_id"] == 150_000


# --- config and determinism ----------------------------------------------------------------------


def test_the_same_config_serves_the_same_bytes_and_another_seed_does_not(sandbox, serve):
    params = [("2025-01-10T00:00:00Z", "100"), ("2025-03-01T12:00:00Z", "1500")]

    def bodies(client) -> list[bytes]:
        return [client.get("/orders", as_of=as_of, size=size).content for as_of, size in params]

    assert bodies(serve(CONFIG)) == bodies(sandbox)
    other = bodies(serve(SandboxConfig(fakestore=FakeStoreConfig(seed=43))))
    assert all(a != b for a, b in zip(other, bodies(sandbox), strict=True))


def test_customers_are_fake_store_users_and_the_epoch_is_configurable(serve):
    config = SandboxConfig(fakestore=FakeStoreConfig(users=3), orders=OrdersConfig(epoch=date(2025, 1, 1)))
    assert config.orders.customers == 3
    client = serve(config)
    orders = batch(client, "2025-01-01T00:00:00Z", size=500)
    assert {order["customer_id"] for order in orders} == {1, 2, 3}
    assert max(order["created_at"] for order in orders) < "2025-01-01T00:00:00Z"
    assert min(order["created_at"] for order in orders) >= "2024-12-02T00:00:00Z"
    assert client.get("/orders", as_of="2024-12-31T23:59:00Z").status_code == 400


def test_the_python_api_serves_the_same_batch(sandbox):
    as_of = datetime(2025, 1, 5, tzinfo=UTC)
    assert list(Orders(CONFIG.orders).batch(as_of, 250)) == batch(sandbox, "2025-01-05T00:00:00Z", size=250)
    with pytest.raises(ValueError, match="size"):
        Orders(CONFIG.orders).batch(as_of, 0)
