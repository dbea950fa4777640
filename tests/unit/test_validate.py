import pytest

from python_scripts.ingest.validate import DuplicateKeys, RecordValidator, schema_path

CART = {"id": 1, "userId": 2, "date": "2025-01-03T14:05:09.000Z", "products": [{"productId": 3, "quantity": 2}]}


@pytest.fixture(scope="module")
def carts() -> RecordValidator:
    return RecordValidator.for_entity("fakestore", "carts")


def test_valid_record_passes(carts):
    assert carts.check(CART) is None


def test_extra_keys_are_allowed(carts):
    assert carts.check({**CART, "__v": 0, "coupon": {"code": "X"}}) is None


@pytest.mark.parametrize(
    ("record", "path", "fragment"),
    [
        ({**CART, "userId": "two"}, "$.userId", "is not of type 'integer'"),
        ({k: v for k, v in CART.items() if k != "date"}, "$", "'date' is a required property"),
        ({**CART, "date": "yesterday"}, "$.date", "does not match"),
        ({**CART, "products": [{"productId": 3, "quantity": 0}]}, "$.products[0].quantity", "minimum"),
        ("not an object", "$", "is not of type 'object'"),
    ],
)
def test_invalid_records_name_path_and_reason(carts, record, path, fragment):
    problem = carts.check(record)
    assert problem is not None
    assert problem.path == path
    assert fragment in problem.reason


def test_nul_character_is_rejected_because_postgres_cannot_store_it(carts):
    problem = carts.check(CART, b'{"id":1,"note":"a\\u0000b"}')
    assert problem is not None
    assert "NUL" in problem.reason


@pytest.mark.parametrize("entity", ["products", "users", "carts"])
def test_every_fakestore_entity_has_a_schema(entity):
    assert schema_path("fakestore", entity).is_file()
    RecordValidator.for_entity("fakestore", entity)


def test_unknown_entity_is_a_clear_error():
    with pytest.raises(FileNotFoundError, match="no JSON Schema for fakestore/orders"):
        RecordValidator.for_entity("fakestore", "orders")


def test_a_repeated_key_is_rejected_with_the_first_occurrence():
    keys = DuplicateKeys(("symbol", "date"))
    assert keys.check({"symbol": "IBM", "date": "2025-01-02"}, 1) is None
    assert keys.check({"symbol": "IBM", "date": "2025-01-03"}, 2) is None
    assert keys.check({"symbol": "MSFT", "date": "2025-01-02"}, 3) is None
    rejection = keys.check({"symbol": "IBM", "date": "2025-01-02", "4. close": "1"}, 4)
    assert rejection is not None
    assert rejection.path == "$.symbol"
    assert rejection.reason == "duplicate key symbol='IBM', date='2025-01-02': first seen at record 1 of the batch"


def test_keys_of_unhashable_values_and_entities_without_a_key():
    keys = DuplicateKeys(("id",))
    assert keys.check({"id": [1, 2]}, 1) is None
    assert keys.check({"id": [1, 2]}, 2) is not None
    assert DuplicateKeys(()).check({"id": 1}, 1) is None
    assert DuplicateKeys(()).check({"id": 1}, 2) is None


def test_an_unhashable_key_never_matches_a_string_that_spells_its_json():
    keys = DuplicateKeys(("id",))
    assert keys.check({"id": [1, 2]}, 1) is None
    assert keys.check({"id": "[[1, 2]]"}, 2) is None
    repeat = keys.check({"id": "[[1, 2]]"}, 3)
    assert repeat.reason == "duplicate key id='[[1, 2]]': first seen at record 2 of the batch"
