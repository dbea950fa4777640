"""The sandbox API over real HTTP: Fake Store shapes and parameters, determinism, overrides, faults, CLI."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import orjson
import pytest
import requests

from python_scripts.sandbox import CITIES, FakeStore, FakeStoreConfig, serve_in_thread

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG = FakeStoreConfig(seed=42, carts=200)
CATEGORIES = ["electronics", "jewelery", "men's clothing", "women's clothing"]
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve_in_thread(CONFIG) as url:
        yield url


@pytest.fixture(autouse=True)
def clean_state(base_url: str) -> Iterator[None]:
    yield
    for control in ("overrides", "faults", "requests"):
        requests.delete(f"{base_url}/__sandbox/{control}", timeout=5).raise_for_status()


@pytest.fixture
def get(base_url: str):
    def _get(path: str, **params) -> requests.Response:
        return requests.get(base_url + path, params=params, timeout=30)

    return _get


@pytest.fixture
def control(base_url: str):
    """POST a body to a ``/__sandbox`` control and return the response."""

    def _post(name: str, body: dict) -> requests.Response:
        return requests.post(f"{base_url}/__sandbox/{name}", json=body, timeout=5)

    return _post


@pytest.fixture(scope="module")
def all_carts(base_url: str) -> list[dict]:
    return requests.get(base_url + "/carts", timeout=30).json()


def ids(records: list[dict]) -> list[int]:
    return [record["id"] for record in records]


# --- shapes --------------------------------------------------------------------------------------


def test_health_reports_its_sources(get):
    """Its resolved config, source by source: test_clock_and_config.py."""
    body = get("/__sandbox/health").json()
    assert body["status"] == "ok"
    assert body["sources"] == ["fakestore", "openweather", "alphavantage", "orders"]


def test_products_have_the_fake_store_shape(get):
    response = get("/products")
    assert response.headers["content-type"] == "application/json"
    products = response.json()
    assert ids(products) == list(range(1, 21))
    for product in products:
        assert set(product) == {"id", "title", "price", "description", "category", "image", "rating", "__v"}
        assert isinstance(product["title"], str)
        assert product["title"]
        assert isinstance(product["price"], float)
        assert round(product["price"], 2) == product["price"]
        assert isinstance(product["description"], str)
        assert product["category"] in CATEGORIES
        assert product["image"].startswith("https://")
        assert set(product["rating"]) == {"rate", "count"}
        assert isinstance(product["rating"]["rate"], float)
        assert 1 <= product["rating"]["rate"] <= 5
        assert isinstance(product["rating"]["count"], int)
        assert product["__v"] == 0


def test_users_have_the_fake_store_shape(get):
    users = get("/users").json()
    assert ids(users) == list(range(1, 11))
    for user in users:
        assert set(user) == {"id", "email", "username", "password", "name", "phone", "address", "__v"}
        assert all(isinstance(user[key], str) for key in ("email", "username", "password", "phone"))
        assert "@" in user["email"]
        assert set(user["name"]) == {"firstname", "lastname"}
        address = user["address"]
        assert set(address) == {"city", "street", "number", "zipcode", "geolocation"}
        assert address["city"] in CITIES
        assert isinstance(address["street"], str)
        assert isinstance(address["zipcode"], str)
        assert isinstance(address["number"], int)
        assert set(address["geolocation"]) == {"lat", "long"}
        assert -90 <= float(address["geolocation"]["lat"]) <= 90
        assert -180 <= float(address["geolocation"]["long"]) <= 180
    assert len({user["username"] for user in users}) == len(users)


def test_carts_have_the_fake_store_shape_and_dates_follow_ids(all_carts):
    assert ids(all_carts) == list(range(1, 201))
    for cart in all_carts:
        assert set(cart) == {"id", "userId", "date", "products", "__v"}
        assert 1 <= cart["userId"] <= 10
        assert TIMESTAMP.fullmatch(cart["date"])
        assert "2025-01-01" <= cart["date"][:10] <= "2025-01-30"
        lines = cart["products"]
        assert 1 <= len(lines) <= 5
        assert len({line["productId"] for line in lines}) == len(lines)
        for line in lines:
            assert set(line) == {"productId", "quantity"}
            assert 1 <= line["productId"] <= 20
            assert 1 <= line["quantity"] <= 10
    dates = [cart["date"] for cart in all_carts]
    assert dates == sorted(dates)
    assert len({date[:10] for date in dates}) == 30


def test_records_by_id_match_the_lists(get, all_carts):
    assert get("/products/7").json() == get("/products").json()[6]
    assert get("/users/3").json() == get("/users").json()[2]
    assert get("/carts/150").json() == all_carts[149]


@pytest.mark.parametrize("path", ["/products/21", "/products/0", "/users/11", "/carts/201", "/carts/-1"])
def test_a_missing_id_answers_200_null(get, path):
    response = get(path)
    assert response.status_code == 200
    assert response.text == "null"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/carts", {"limit": "abc"}),
        ("/products", {"limit": "-1"}),
        ("/users", {"sort": "sideways"}),
        ("/carts", {"startdate": "2025-13-01"}),
        ("/carts", {"enddate": "01/02/2025"}),
        ("/carts/user/2", {"startdate": "yesterday"}),
        ("/products/abc", {}),
    ],
)
def test_bad_parameters_answer_400_with_a_json_error(get, path, params):
    response = get(path, **params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["status"] == "error"
    assert response.json()["message"]


def test_the_python_api_serves_the_same_records(get, all_carts):
    store = FakeStore(CONFIG)
    assert list(store.carts()) == all_carts
    assert list(store.users()) == get("/users").json()
    assert store.product(5) == get("/products/5").json()


# --- parameters ----------------------------------------------------------------------------------


def test_limit_and_sort(get):
    assert ids(get("/carts", limit=5).json()) == [1, 2, 3, 4, 5]
    assert ids(get("/carts", limit=3, sort="desc").json()) == [200, 199, 198]
    assert ids(get("/users", sort="desc").json()) == list(range(10, 0, -1))
    assert ids(get("/products", sort="asc", limit=0).json()) == list(range(1, 21))
    assert ids(get("/products", limit=500).json()) == list(range(1, 21))


def test_date_range_is_start_inclusive_end_exclusive(get, all_carts):
    served = get("/carts", startdate="2025-01-05", enddate="2025-01-08").json()
    assert ids(served) == [c["id"] for c in all_carts if "2025-01-05" <= c["date"][:10] < "2025-01-08"]
    assert {cart["date"][:10] for cart in served} == {"2025-01-05", "2025-01-06", "2025-01-07"}


def test_date_range_bounds_are_optional(get, all_carts):
    since = get("/carts", startdate="2025-01-29").json()
    assert ids(since) == [c["id"] for c in all_carts if c["date"] >= "2025-01-29"]
    until = get("/carts", enddate="2025-01-02").json()
    assert ids(until) == [c["id"] for c in all_carts if c["date"] < "2025-01-02"]
    assert since
    assert until
    assert get("/carts", startdate="2024-01-01", enddate="2030-01-01").json() == all_carts
    assert get("/carts", startdate="2030-01-01").json() == []
    assert get("/carts", startdate="2025-01-05", enddate="2025-01-05").json() == []


def test_date_range_combines_with_sort_and_limit(get, all_carts):
    served = get("/carts", startdate="2025-01-10", enddate="2025-01-12", sort="desc", limit=4).json()
    expected = [c["id"] for c in reversed(all_carts) if "2025-01-10" <= c["date"][:10] < "2025-01-12"][:4]
    assert ids(served) == expected


def test_carts_of_one_user(get, all_carts):
    served = get("/carts/user/3").json()
    assert served
    assert ids(served) == [c["id"] for c in all_carts if c["userId"] == 3]
    windowed = get("/carts/user/3", startdate="2025-01-10", sort="desc").json()
    assert ids(windowed) == [c["id"] for c in reversed(served) if c["date"] >= "2025-01-10"]
    assert get("/carts/user/99").json() == []


def test_categories_and_category_filter(base_url, get):
    assert get("/products/categories").json() == CATEGORIES
    products = get("/products").json()
    expected = [p for p in products if p["category"] == "men's clothing"]
    assert expected
    for spelling in ("men's%20clothing", "men%27s%20clothing"):
        assert requests.get(f"{base_url}/products/category/{spelling}", timeout=5).json() == expected
    assert get("/products/category/jewelery", sort="desc", limit=1).json() == [
        [p for p in products if p["category"] == "jewelery"][-1]
    ]
    assert get("/products/category/toys").json() == []


def test_login_with_a_user_s_credentials(base_url, get):
    user = get("/users/3").json()
    credentials = {"username": user["username"], "password": user["password"]}
    response = requests.post(base_url + "/auth/login", json=credentials, timeout=5)
    assert response.status_code == 200
    token = response.json()["token"]
    assert re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+", token)
    assert requests.post(base_url + "/auth/login", json=credentials, timeout=5).json()["token"] == token


@pytest.mark.parametrize(
    "credentials",
    [{"username": "nobody_3", "password": "x"}, {"username": "", "password": ""}, {"username": "kevinr_99"}],
)
def test_login_with_wrong_credentials_answers_401_in_plain_text(base_url, get, credentials):
    response = requests.post(base_url + "/auth/login", json=credentials, timeout=5)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text


def test_login_with_a_wrong_password_answers_401(base_url, get):
    user = get("/users/2").json()
    response = requests.post(
        base_url + "/auth/login", json={"username": user["username"], "password": "wrong"}, timeout=5
    )
    assert response.status_code == 401


def test_login_without_a_json_body_answers_400(base_url):
    assert requests.post(base_url + "/auth/login", data="username=a", timeout=5).status_code == 400


# --- overrides -----------------------------------------------------------------------------------


def test_an_override_is_deep_merged_wherever_the_record_is_served(base_url, get, control):
    original = get("/users/3").json()
    response = control(
        "overrides", {"source": "fakestore", "entity": "users", "id": 3, "patch": {"address": {"city": "Oslo"}}}
    )
    assert response.status_code == 201
    expected = {**original, "address": {**original["address"], "city": "Oslo"}}
    assert get("/users/3").json() == expected
    assert get("/users").json()[2] == expected
    assert get("/users", sort="desc").json()[7] == expected
    requests.delete(base_url + "/__sandbox/overrides", timeout=5).raise_for_status()
    assert get("/users/3").json() == original


def test_overrides_of_one_record_accumulate(get, control):
    original = get("/products/4").json()
    control("overrides", {"source": "fakestore", "entity": "products", "id": 4, "patch": {"price": 1.5}})
    control("overrides", {"source": "fakestore", "entity": "products", "id": 4, "patch": {"rating": {"count": 7}}})
    patched = get("/products/4").json()
    assert patched["price"] == 1.5
    assert patched["rating"] == {"rate": original["rating"]["rate"], "count": 7}
    assert get("/__sandbox/overrides").json() == [
        {"source": "fakestore", "entity": "products", "id": 4, "patch": {"price": 1.5, "rating": {"count": 7}}}
    ]


def test_an_override_moves_a_record_between_filtered_lists(get, control, all_carts):
    cart = next(c for c in all_carts if c["userId"] != 5 and c["date"] < "2025-01-10")
    patch = {"userId": 5, "date": "2025-01-20T12:00:00.000Z"}
    control("overrides", {"source": "fakestore", "entity": "carts", "id": cart["id"], "patch": patch})
    assert cart["id"] in ids(get("/carts/user/5").json())
    assert cart["id"] not in ids(get(f"/carts/user/{cart['userId']}").json())
    assert cart["id"] in ids(get("/carts", startdate="2025-01-20", enddate="2025-01-21").json())
    assert cart["id"] not in ids(get("/carts", enddate="2025-01-10").json())
    served = get("/carts/user/5").json()
    assert ids(served) == sorted(ids(served))

    product = get("/products/1").json()
    other = next(c for c in CATEGORIES if c != product["category"])
    control("overrides", {"source": "fakestore", "entity": "products", "id": 1, "patch": {"category": other}})
    assert get(f"/products/category/{other}").json()[0] == {**product, "category": other}
    assert 1 not in ids(get(f"/products/category/{product['category']}").json())


@pytest.mark.parametrize(
    "body",
    [
        {"source": "nowhere", "entity": "users", "id": 1, "patch": {}},
        {"source": "fakestore", "entity": "orders", "id": 1, "patch": {}},
        {"source": "fakestore", "entity": "users", "id": "1", "patch": {}},
        {"source": "fakestore", "entity": "users", "id": 1, "patch": {"id": 2}},
        {"source": "fakestore", "entity": "users", "id": 1, "patch": [1]},
    ],
)
def test_invalid_overrides_answer_400(control, body):
    assert control("overrides", body).status_code == 400


# --- faults --------------------------------------------------------------------------------------


def test_a_status_fault_serves_times_then_recovers(get, control):
    fault = {
        "path": "/carts",
        "times": 2,
        "status": 503,
        "headers": {"Retry-After": "1"},
        "body": "Service Unavailable",
    }
    assert control("faults", fault).status_code == 201
    for remaining in (1, 0):
        response = get("/carts")
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        assert response.text == "Service Unavailable"
        assert [f["remaining"] for f in get("/__sandbox/faults").json()] == ([remaining] if remaining else [])
    assert get("/carts").status_code == 200


def test_a_fault_matches_its_exact_path_only_unless_it_is_a_glob(get, control):
    control("faults", {"path": "/carts", "status": 500})
    assert get("/carts/1").status_code == 200
    assert get("/carts", limit=1).status_code == 500
    control("faults", {"path": "/carts*", "status": 502, "body": {"error": "bad gateway"}})
    response = get("/carts/user/2")
    assert response.status_code == 502
    assert response.json() == {"error": "bad gateway"}


def test_a_fault_can_skip_requests_and_be_limited_to_a_method(base_url, get, control):
    control("faults", {"path": "/users", "after": 1, "status": 500})
    assert [get("/users").status_code for _ in range(3)] == [200, 500, 200]
    control("faults", {"path": "/auth/login", "method": "post", "status": 429})
    assert get("/auth/login").status_code == 405
    assert requests.post(base_url + "/auth/login", json={}, timeout=5).status_code == 429


def test_faults_on_one_path_are_served_in_order(get, control):
    control("faults", {"path": "/products", "status": 500})
    control("faults", {"path": "/products", "status": 503})
    assert [get("/products").status_code for _ in range(3)] == [500, 503, 200]


@pytest.mark.parametrize(("path", "length"), [("/products", 50), ("/carts", 20_000), ("/carts/1", 10)])
def test_a_truncate_fault_cuts_the_body(get, control, path, length):
    normal = get(path).content
    assert len(normal) > length
    control("faults", {"kind": "truncate", "path": path, "length": length})
    response = get(path)
    assert response.status_code == 200
    assert response.content == normal[:length]
    with pytest.raises(requests.JSONDecodeError):
        response.json()
    assert get(path).content == normal


def test_a_malformed_fault_serves_non_json_as_json(get, control):
    control("faults", {"kind": "malformed", "path": "/users/1"})
    response = get("/users/1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(requests.JSONDecodeError):
        response.json()
    assert get("/users/1").json()["id"] == 1


def test_a_content_type_fault_keeps_the_body(get, control):
    normal = get("/carts/3").content
    control("faults", {"kind": "content_type", "path": "/carts/3", "content_type": "text/html"})
    response = get("/carts/3")
    assert response.headers["content-type"] == "text/html"
    assert response.content == normal
    assert get("/carts/3").headers["content-type"] == "application/json"


def test_a_delay_fault_answers_late(get, control):
    control("faults", {"kind": "delay", "path": "/products/categories", "seconds": 0.5})
    started = time.monotonic()
    assert get("/products/categories").json() == CATEGORIES
    assert time.monotonic() - started >= 0.5
    started = time.monotonic()
    get("/products/categories")
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize(
    "body",
    [
        {"path": "/carts", "kind": "explode"},
        {"path": "/carts", "times": 0},
        {"path": "carts"},
        {"status": 503},
        {"path": "/carts", "status": 99},
        {"path": "/carts", "kind": "delay", "status": 500},
    ],
)
def test_invalid_faults_answer_400(control, body):
    assert control("faults", body).status_code == 400


def test_faults_are_cleared(base_url, get, control):
    control("faults", {"path": "/carts", "times": 5})
    requests.delete(base_url + "/__sandbox/faults", timeout=5).raise_for_status()
    assert get("/__sandbox/faults").json() == []
    assert get("/carts").status_code == 200


# --- request log ---------------------------------------------------------------------------------


def test_the_request_log_records_what_clients_asked(base_url, get, control):
    control("faults", {"path": "/users", "status": 500})
    get("/users")
    get("/carts", startdate="2025-01-02", enddate="2025-01-03")
    log = get("/__sandbox/requests").json()
    assert [(entry["method"], entry["path"], entry["status"], entry["fault"]) for entry in log] == [
        ("GET", "/users", 500, "status"),
        ("GET", "/carts", 200, None),
    ]
    assert log[1]["params"] == {"startdate": "2025-01-02", "enddate": "2025-01-03"}
    assert log[1]["query"] == "startdate=2025-01-02&enddate=2025-01-03"
    requests.delete(base_url + "/__sandbox/requests", timeout=5).raise_for_status()
    assert get("/__sandbox/requests").json() == []


# --- determinism, scale, CLI ---------------------------------------------------------------------


def bodies(url: str) -> list[bytes]:
    paths = ["/products", "/users", "/carts", "/carts/77", "/carts?startdate=2025-01-03&enddate=2025-01-09"]
    return [requests.get(url + path, timeout=30).content for path in paths]


def test_the_same_seed_serves_the_same_bytes_and_another_seed_does_not(base_url):
    with serve_in_thread(FakeStoreConfig(seed=42, carts=200)) as same:
        assert bodies(same) == bodies(base_url)
    with serve_in_thread(FakeStoreConfig(seed=43, carts=200)) as other:
        assert all(a != b for a, b in zip(bodies(other), bodies(base_url), strict=True))


def test_a_large_response_streams(tmp_path):
    with serve_in_thread(FakeStoreConfig(carts=200_000)) as url:
        started = time.monotonic()
        with requests.get(url + "/carts", stream=True, timeout=30) as response:
            assert "content-length" not in response.headers
            chunks = response.iter_content(chunk_size=None)
            first = next(chunks)
            first_byte = time.monotonic() - started
            body = first + b"".join(chunks)
        total = time.monotonic() - started
    carts = orjson.loads(body)
    assert len(carts) == 200_000
    assert carts[-1]["id"] == 200_000
    # A buffered response would send its first byte only after building the whole body (at about `total`);
    # half of it leaves room for a busy machine.
    assert first_byte < total / 2


def test_a_date_range_of_a_large_data_set_is_found_without_a_scan():
    store = FakeStore(FakeStoreConfig(carts=1_000_000))
    started = time.monotonic()
    day = list(store.carts(start=date(2025, 1, 10), end=date(2025, 1, 11)))
    assert time.monotonic() - started < 2
    assert {cart["date"][:10] for cart in day} == {"2025-01-10"}
    assert store.cart(day[0]["id"] - 1)["date"] < "2025-01-10" <= day[0]["date"]
    assert store.cart(day[-1]["id"] + 1)["date"] >= "2025-01-11"
    assert len(day) == pytest.approx(1_000_000 / 30, abs=2)


def test_the_cli_serves_the_same_data_in_another_process(base_url, tmp_path):
    port_file = tmp_path / "sandbox.url"
    env = {**os.environ, "SANDBOX_SEED": "42", "SANDBOX_CARTS": "5"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "python_scripts.sandbox",
            "--port",
            "0",
            "--carts",
            "200",
            "--port-file",
            str(port_file),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline().strip()
        url = port_file.read_text().strip()
        assert line == f"sandbox listening on {url}"
        assert requests.get(url + "/__sandbox/health", timeout=5).json()["config"]["fakestore"]["carts"] == 200
        assert bodies(url) == bodies(base_url)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    assert not port_file.exists()
