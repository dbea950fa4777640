"""The reset, slow_body and records fault kinds over real HTTP: what a client sees, normal against faulted."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
import requests
import urllib3
from starlette.testclient import TestClient

from python_scripts.sandbox import create_app
from tests.sandbox.support import CONFIG, Sandbox

WEATHER = "/data/2.5/weather"
QUERY = "/query"
KEY = "test-key"
UNICODE = "Zürich — 東京 🚀"
SQL = "Robert'); DROP TABLE bronze.fakestore_products; --"


def add_fault(sandbox: Sandbox, spec: dict[str, Any]) -> dict[str, Any]:
    response = sandbox.control("faults", spec)
    assert response.status_code == 201, response.text
    return response.json()


def fetch(sandbox: Sandbox, path: str, read_timeout: float = 5.0, **kwargs: Any) -> requests.Response:
    return requests.get(sandbox.url + path, timeout=(5, read_timeout), **kwargs)


def read_until_error(response: requests.Response) -> tuple[bytes, Exception | None]:
    """The body bytes a streamed response delivers one at a time, and the error that ended it, if any."""
    got = bytearray()
    try:
        while byte := response.raw.read(1):
            got += byte
    except Exception as exc:  # the test asserts on it
        return bytes(got), exc
    finally:
        response.close()
    return bytes(got), None


def log(sandbox: Sandbox) -> list[tuple[str, int | None, str | None]]:
    return [(e["path"], e["status"], e["fault"]) for e in sandbox.get("/__sandbox/requests").json()]


# --- reset ---------------------------------------------------------------------------------------


def test_a_reset_before_any_byte_aborts_the_connection_instead_of_answering(sandbox):
    normal = sandbox.get("/products/1")
    assert normal.status_code == 200
    add_fault(sandbox, {"kind": "reset", "path": "/products/1"})
    with pytest.raises(requests.ConnectionError) as raised:
        sandbox.get("/products/1")
    cause = raised.value.args[0]
    assert isinstance(cause, urllib3.exceptions.ProtocolError)
    assert cause.args[0] == "Connection aborted."
    assert isinstance(cause.args[1], ConnectionResetError)
    assert sandbox.get("/products/1").content == normal.content
    assert log(sandbox)[-2:] == [("/products/1", None, "reset"), ("/products/1", 200, None)]


@pytest.mark.parametrize(
    ("path", "after_bytes"),
    [("/products/1", 50), ("/products", 3000), ("/carts/1", 0)],
    ids=["content-length", "chunked", "headers-only"],
)
def test_a_reset_after_bytes_sends_the_headers_and_that_many_body_bytes(sandbox, path, after_bytes):
    normal = sandbox.get(path)
    assert len(normal.content) > after_bytes
    add_fault(sandbox, {"kind": "reset", "path": path, "after_bytes": after_bytes, "times": 2})

    response = fetch(sandbox, path, stream=True)
    assert response.status_code == 200
    assert response.headers["content-type"] == normal.headers["content-type"]
    assert response.headers.get("content-length") == normal.headers.get("content-length")
    body, error = read_until_error(response)
    assert body == normal.content[:after_bytes]
    assert isinstance(error, urllib3.exceptions.ProtocolError)
    assert isinstance(error.args[1], ConnectionResetError)

    with pytest.raises(requests.exceptions.ChunkedEncodingError) as raised:
        fetch(sandbox, path)
    assert isinstance(raised.value.args[0].args[1], ConnectionResetError)
    assert sandbox.get(path).content == normal.content


def test_the_server_keeps_serving_other_and_pooled_connections_after_a_reset(sandbox):
    with requests.Session() as session:
        first = session.get(sandbox.url + "/carts/1", timeout=5)
        assert first.status_code == 200
        add_fault(sandbox, {"kind": "reset", "path": "/carts/2"})
        other = requests.Session()
        assert other.get(sandbox.url + "/carts/3", timeout=5).status_code == 200  # a connection kept open
        with pytest.raises(requests.ConnectionError):
            session.get(sandbox.url + "/carts/2", timeout=5)  # resets the session's pooled connection
        assert other.get(sandbox.url + "/carts/3", timeout=5).status_code == 200
        assert session.get(sandbox.url + "/carts/1", timeout=5).content == first.content  # a new connection
        assert session.get(sandbox.url + "/carts/2", timeout=5).json()["id"] == 2
        other.close()


def test_without_uvicorn_s_transport_a_reset_before_headers_answers_500_saying_why():
    """The fallback where the connection cannot be reached (an in-process ASGI client, not uvicorn)."""
    with TestClient(create_app(CONFIG)) as client:
        assert client.post("/__sandbox/faults", json={"kind": "reset", "path": "/users/1"}).status_code == 201
        response = client.get("/users/1")
        assert response.status_code == 500
        assert "cannot be reset" in response.text
        assert client.get("/users/1").status_code == 200


# --- slow_body -----------------------------------------------------------------------------------


def test_a_slow_body_past_the_read_timeout_times_out_in_the_middle_of_the_body(sandbox):
    normal = sandbox.get("/products/1").content
    assert len(normal) > 200  # three pieces of 100 bytes
    add_fault(sandbox, {"kind": "slow_body", "path": "/products/1", "chunk": 100, "interval": 0.6, "times": 2})

    started = time.monotonic()
    response = fetch(sandbox, "/products/1", read_timeout=0.2, stream=True)
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(normal))
    body, error = read_until_error(response)
    assert body == normal[:100]
    assert isinstance(error, urllib3.exceptions.ReadTimeoutError)
    assert time.monotonic() - started < 0.55  # before the second piece

    with pytest.raises(requests.ConnectionError) as raised:  # not requests.Timeout: the headers had come
        fetch(sandbox, "/products/1", read_timeout=0.2)
    assert not isinstance(raised.value, requests.Timeout)
    assert isinstance(raised.value.args[0], urllib3.exceptions.ReadTimeoutError)


@pytest.mark.parametrize(
    ("path", "chunk", "pieces"), [("/products/1", 100, 3), ("/products", 2000, 3)], ids=["content-length", "chunked"]
)
def test_a_slow_body_within_the_read_timeout_arrives_whole_and_late(sandbox, path, chunk, pieces):
    normal = sandbox.get(path).content
    assert -(-len(normal) // chunk) == pieces
    add_fault(sandbox, {"kind": "slow_body", "path": path, "chunk": chunk, "interval": 0.15})
    started = time.monotonic()
    response = fetch(sandbox, path, read_timeout=1.0)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.content == normal
    assert response.json() == orjson.loads(normal)
    assert elapsed >= 0.15 * (pieces - 1)
    started = time.monotonic()
    assert fetch(sandbox, path, read_timeout=1.0).content == normal
    assert time.monotonic() - started < 0.15


def test_a_body_of_one_piece_is_not_slowed(sandbox):
    add_fault(sandbox, {"kind": "slow_body", "path": "/carts/1", "chunk": 1024, "interval": 1.0})
    started = time.monotonic()
    assert fetch(sandbox, "/carts/1", read_timeout=0.5).json()["id"] == 1
    assert time.monotonic() - started < 0.5


# --- after / times with the new kinds --------------------------------------------------------------


def _outcome(sandbox: Sandbox, path: str) -> str:
    """What one request met: ``reset``, ``slow`` (a read timeout), or its body."""
    try:
        return fetch(sandbox, path, read_timeout=0.2).text
    except requests.exceptions.ChunkedEncodingError:
        return "reset"
    except requests.ConnectionError as exc:
        cause = exc.args[0]
        if isinstance(cause, urllib3.exceptions.ReadTimeoutError):
            return "slow"
        if isinstance(cause, urllib3.exceptions.ProtocolError) and isinstance(cause.args[1], ConnectionResetError):
            return "reset"
        raise


@pytest.mark.parametrize(
    ("spec", "faulted"),
    [
        ({"kind": "reset"}, "reset"),
        ({"kind": "reset", "after_bytes": 10}, "reset"),
        ({"kind": "slow_body", "chunk": 50, "interval": 0.4}, "slow"),
        ({"kind": "records", "op": "set", "field": "title", "value": "altered"}, "altered"),
    ],
    ids=["reset", "reset-after-bytes", "slow_body", "records"],
)
def test_after_and_times_count_requests_with_the_new_kinds(sandbox, spec, faulted):
    normal = sandbox.get("/products/2").text
    add_fault(sandbox, {**spec, "path": "/products/*", "after": 1, "times": 2})
    outcomes = [_outcome(sandbox, "/products/2") for _ in range(4)]
    if faulted == "altered":
        outcomes = [orjson.loads(o)["title"] if o != normal else o for o in outcomes]
    assert outcomes == [normal, faulted, faulted, normal]
    assert sandbox.get("/__sandbox/faults").json() == []
    assert [fault for _, _, fault in log(sandbox)[-4:]] == [None, spec["kind"], spec["kind"], None]


# --- records: Fake Store arrays -------------------------------------------------------------------


@pytest.fixture
def products(sandbox) -> list[dict[str, Any]]:
    response = sandbox.get("/products")
    assert response.status_code == 200
    return response.json()


def altered(sandbox: Sandbox, path: str, spec: dict[str, Any], **params: Any) -> requests.Response:
    """The response to ``path`` with a records fault; checks the re-serialised body's content-length."""
    add_fault(sandbox, {"kind": "records", "path": path, **spec})
    response = sandbox.get(path, **params)
    assert response.headers["content-length"] == str(len(response.content))
    return response


def test_records_add_field_adds_a_field_to_the_selected_records_only(sandbox, products):
    spec = {"op": "add_field", "field": "rating.source", "value": {"site": "x", "n": [1]}, "select": [0, 2]}
    got = altered(sandbox, "/products", spec).json()
    expected = [dict(p, rating=dict(p["rating"])) for p in products]
    for i in (0, 2):
        expected[i]["rating"]["source"] = {"site": "x", "n": [1]}
    assert got == expected
    assert sandbox.get("/products").json() == products


def test_records_add_field_creates_missing_parent_objects(sandbox, products):
    got = altered(sandbox, "/products", {"op": "add_field", "field": "meta.tags.primary", "value": 1}).json()
    assert got[0] == {**products[0], "meta": {"tags": {"primary": 1}}}
    assert got[1:] == products[1:]


def test_records_drop_field_removes_a_nested_field_from_every_record(sandbox, products):
    got = altered(sandbox, "/products", {"op": "drop_field", "field": "rating.rate", "select": "all"}).json()
    assert len(got) == len(products) == 20
    for before, after in zip(products, got, strict=True):
        assert after["rating"] == {"count": before["rating"]["count"]}
        assert {k: v for k, v in after.items() if k != "rating"} == {k: v for k, v in before.items() if k != "rating"}


@pytest.mark.parametrize(
    "value",
    [str(19.52), None, "x" * 100_000, UNICODE, SQL, {"amount": 1, "currency": "EUR"}, [1, 2], True, -1e300],
    ids=["retyped-string", "null", "long-string", "non-ascii", "sql-looking", "object", "array", "bool", "huge"],
)
def test_records_set_puts_any_json_value_in_place(sandbox, products, value):
    response = altered(sandbox, "/products", {"op": "set", "field": "price", "value": value, "select": [1]})
    got = response.json()
    assert got[1]["price"] == value
    assert type(got[1]["price"]) is type(value)
    assert got[1] == {**products[1], "price": value}
    assert got[:1] + got[2:] == products[:1] + products[2:]
    assert list(got[1]) == list(products[1])  # key order kept


def test_records_set_keeps_strings_byte_exact(sandbox, products):
    response = altered(sandbox, "/products", {"op": "set", "field": "title", "value": UNICODE, "select": "all"})
    assert response.content.count(UNICODE.encode()) == len(products)
    assert response.content.count(b'"title":"' + UNICODE.encode() + b'"') == len(products)
    assert {p["title"] for p in response.json()} == {UNICODE}


def test_records_duplicate_repeats_the_selected_records_so_ids_repeat(sandbox, products):
    response = altered(sandbox, "/products", {"op": "duplicate", "select": [0, 1]})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "transfer-encoding" not in response.headers  # the streamed list now has a length
    got = response.json()
    ids = [p["id"] for p in got]
    assert ids[:5] == [1, 1, 2, 2, 3]
    assert len(ids) == len(products) + 2
    assert got == [products[0], products[0], products[1], products[1], *products[2:]]


def test_records_duplicate_of_every_record(sandbox):
    carts = sandbox.get("/carts", limit=3).json()
    got = altered(sandbox, "/carts", {"op": "duplicate", "select": "all"}, limit=3).json()
    assert got == [cart for cart in carts for _ in range(2)]


def test_records_of_an_explicit_container_and_a_path_through_an_array(sandbox):
    cart = sandbox.get("/carts/1").json()
    spec = {"op": "set", "container": "products", "field": "quantity", "value": -1, "select": "all"}
    got = altered(sandbox, "/carts/1", spec).json()
    assert got == {**cart, "products": [{**item, "quantity": -1} for item in cart["products"]]}
    got = altered(sandbox, "/carts/1", {"op": "set", "field": "products.0.productId", "value": "10"}).json()
    assert got["products"][0]["productId"] == "10"


# --- records: OpenWeather (one object) and Alpha Vantage (a map of days) ---------------------------


def test_records_of_the_current_weather_alter_the_single_object(sandbox):
    params = {"q": "London", "appid": KEY}
    normal = sandbox.get(WEATHER, **params).json()
    got = altered(sandbox, WEATHER, {"op": "set", "field": "main.temp", "value": "warm"}, **params).json()
    assert got == {**normal, "main": {**normal["main"], "temp": "warm"}}
    got = altered(sandbox, WEATHER, {"op": "drop_field", "field": "name"}, **params).json()
    assert "name" not in got
    assert got == {k: v for k, v in normal.items() if k != "name"}
    response = altered(sandbox, WEATHER, {"op": "set", "field": "name", "select": [1]}, **params)
    assert response.status_code == 500
    assert response.text == "records fault: select [1] past the 1 record(s) of the response"


def test_records_of_alpha_vantage_are_each_day_s_values(sandbox):
    params = {"function": "TIME_SERIES_DAILY", "symbol": "IBM", "apikey": KEY}
    normal = sandbox.get(QUERY, **params).json()
    spec = {"op": "set", "field": "4. close", "value": None, "select": "all"}
    got = altered(sandbox, QUERY, spec, **params).json()
    assert got["Meta Data"] == normal["Meta Data"]
    days = normal["Time Series (Daily)"]
    assert len(days) == 100
    assert got["Time Series (Daily)"] == {day: {**values, "4. close": None} for day, values in days.items()}
    got = altered(sandbox, QUERY, {"op": "drop_field", "field": "5. volume"}, **params).json()
    newest = next(iter(days))
    assert "5. volume" not in got["Time Series (Daily)"][newest]
    assert all("5. volume" in values for day, values in got["Time Series (Daily)"].items() if day != newest)


def test_records_duplicate_is_refused_where_records_are_not_an_array(sandbox):
    params = {"function": "TIME_SERIES_DAILY", "symbol": "IBM", "apikey": KEY}
    response = altered(sandbox, QUERY, {"op": "duplicate"}, **params)
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith("records fault: duplicate needs an array of records")
    assert "Time Series (Daily)" in sandbox.get(QUERY, **params).json()


def test_records_pass_non_json_and_error_responses_through(sandbox):
    params = {"function": "TIME_SERIES_DAILY", "symbol": "IBM", "apikey": KEY, "datatype": "csv"}
    csv = sandbox.get(QUERY, **params)
    assert csv.headers["content-type"].startswith("text/csv")
    response = altered(sandbox, QUERY, {"op": "set", "field": "close", "select": "all"}, **params)
    assert (response.status_code, response.content) == (200, csv.content)
    missing = sandbox.get(WEATHER, q="Atlantis", appid=KEY)
    assert missing.status_code == 404
    response = altered(sandbox, WEATHER, {"op": "drop_field", "field": "message"}, q="Atlantis", appid=KEY)
    assert (response.status_code, response.content) == (404, missing.content)
    assert sandbox.get("/__sandbox/faults").json() == []  # both were served


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"op": "set", "field": "rating.rat", "value": 1}, "records fault: record 0 has no field 'rating.rat'"),
        ({"op": "drop_field", "field": "colour"}, "records fault: record 0 has no field 'colour'"),
        ({"op": "add_field", "field": "price", "value": 1}, "records fault: record 0 already has the field 'price'"),
        ({"op": "set", "field": "price.amount"}, "records fault: price is not an object"),
        ({"op": "duplicate", "select": [3, 99]}, "records fault: select [99] past the 20 record(s) of the response"),
        ({"op": "set", "field": "id", "container": "items"}, "records fault: the body has no container 'items'"),
    ],
)
def test_a_records_fault_that_does_not_fit_the_body_answers_500_saying_why(sandbox, spec, message):
    response = altered(sandbox, "/products", spec)
    assert response.status_code == 500
    assert response.text == message
    assert sandbox.get("/products").status_code == 200


# --- invalid specs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"kind": "records", "op": "shuffle", "field": "id"},
            "op must be one of add_field, drop_field, set, duplicate",
        ),
        ({"kind": "records", "field": "id"}, "op is required: one of add_field, drop_field, set, duplicate"),
        ({"kind": "records", "op": "set"}, "field is required for the set op"),
        ({"kind": "records", "op": "add_field"}, "field is required for the add_field op"),
        ({"kind": "records", "op": "drop_field", "field": ""}, "field must be a non-empty dotted path"),
        ({"kind": "records", "op": "set", "field": "rating..rate"}, "field 'rating..rate' has an empty segment"),
        ({"kind": "records", "op": "duplicate", "field": "id"}, "field is not used by the duplicate op"),
        ({"kind": "records", "op": "duplicate", "select": "some"}, 'select must be "all" or a non-empty list'),
        ({"kind": "records", "op": "duplicate", "select": []}, 'select must be "all" or a non-empty list'),
        ({"kind": "records", "op": "duplicate", "select": [-1]}, 'select must be "all" or a non-empty list'),
        ({"kind": "records", "op": "duplicate", "select": ["0"]}, 'select must be "all" or a non-empty list'),
        ({"kind": "records", "op": "duplicate", "select": 0}, 'select must be "all" or a non-empty list'),
        ({"kind": "records", "op": "duplicate", "container": 3}, "container must be a non-empty dotted path"),
        ({"kind": "records", "op": "duplicate", "count": 3}, "unknown option(s) for 'records': count"),
        ({"kind": "records", "op": "set", "field": "id", "value": 2**64}, "value cannot be served as JSON"),
        ({"kind": "reset", "after_bytes": -1}, "after_bytes must be null or an integer >= 0"),
        ({"kind": "reset", "after_bytes": "10"}, "after_bytes must be null or an integer >= 0"),
        ({"kind": "slow_body", "chunk": 0}, "chunk must be an integer >= 1"),
        ({"kind": "slow_body", "interval": -0.5}, "interval must be a number >= 0"),
        ({"kind": "slow_body", "interval": "1"}, "interval must be a number >= 0"),
    ],
)
def test_invalid_specs_of_the_new_kinds_answer_400_saying_why(sandbox, spec, message):
    response = sandbox.control("faults", {"path": "/products", **spec})
    assert response.status_code == 400
    assert message in response.json()["message"]
    assert sandbox.get("/__sandbox/faults").json() == []
