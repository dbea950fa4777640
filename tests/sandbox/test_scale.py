"""The Fake Store sandbox at benchmark scale: proportions, determinism and streaming with bounded memory,
checked cheaply on a few blocks of a 10^6-cart data set."""

from __future__ import annotations

import tracemalloc
from itertools import islice

import orjson
import pytest
import requests

from python_scripts.sandbox import FakeStore, FakeStoreConfig, serve_in_thread
from python_scripts.sandbox.web import json_array_chunks

MILLION = FakeStoreConfig(carts=1_000_000)


@pytest.mark.parametrize(
    ("carts", "users", "products"),
    [(0, 10, 20), (200, 10, 20), (10_000, 500, 20), (100_000, 5_000, 200), (1_000_000, 50_000, 2_000)],
)
def test_users_and_products_grow_with_the_carts(carts, users, products):
    config = FakeStoreConfig(carts=carts)
    assert (config.users, config.products) == (users, products)


def first_chunks(store: FakeStore, count: int = 3) -> bytes:
    return b"".join(islice(json_array_chunks(store.carts()), count))


def test_a_large_data_set_is_the_same_on_every_build_and_differs_by_seed():
    assert first_chunks(FakeStore(MILLION)) == first_chunks(FakeStore(MILLION))
    assert first_chunks(FakeStore(MILLION)) != first_chunks(FakeStore(FakeStoreConfig(seed=43, carts=1_000_000)))
    store = FakeStore(MILLION)
    last_day = list(store.carts(start=MILLION.start_date.replace(day=30)))
    assert last_day[-1] == store.cart(1_000_000)
    assert last_day[-1]["id"] == 1_000_000


def test_carts_reference_only_the_users_and_products_of_their_scale():
    config = FakeStoreConfig(carts=20_000)
    carts = list(FakeStore(config).carts())
    assert len(carts) == 20_000
    users = {cart["userId"] for cart in carts}
    products = {line["productId"] for cart in carts for line in cart["products"]}
    assert users <= set(range(1, config.users + 1))
    assert len(users) > config.users * 0.99
    assert products == set(range(1, config.products + 1))


def test_streaming_a_large_data_set_holds_one_chunk_at_a_time():
    """The memory of serving 12 chunks is the memory of serving 2: nothing accumulates."""

    def peak(chunks: int) -> int:
        tracemalloc.start()
        try:
            for _ in islice(json_array_chunks(FakeStore(MILLION).carts()), chunks):
                pass
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    few, many = peak(2), peak(12)
    assert many < few * 1.2
    assert many < 4 * 2**20


def test_the_server_serves_a_million_carts_with_proportionate_users_and_products():
    with serve_in_thread(MILLION) as url:
        health = requests.get(url + "/__sandbox/health", timeout=5).json()["config"]["fakestore"]
        assert (health["carts"], health["users"], health["products"]) == (1_000_000, 50_000, 2_000)
        assert len(requests.get(url + "/products", timeout=10).json()) == 2_000
        assert requests.get(url + "/users/50000", timeout=5).json()["id"] == 50_000
        assert requests.get(url + "/users/50001", timeout=5).json() is None
        with requests.get(url + "/carts", stream=True, timeout=10) as response:
            assert "content-length" not in response.headers
            head = next(response.iter_content(chunk_size=1 << 16))
        assert head.startswith(b'[{"id":1,')
        last = requests.get(url + "/carts/1000000", timeout=5).json()
        assert last == orjson.loads(orjson.dumps(FakeStore(MILLION).cart(1_000_000)))
