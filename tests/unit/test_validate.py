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


def repeats(fields: tuple[str, ...], records: list, chunk: int = DuplicateKeys.CHUNK) -> dict[int, str]:
    """The records (numbered from 1) that repeat a key, with the reason, resolved a chunk at a time."""
    found = {}
    with DuplicateKeys(fields, chunk=chunk) as keys:
        for record_no, record in enumerate(records, start=1):
            keys.add(record, record_no)
            if record_no % chunk == 0:
                found |= keys.resolve()
        found |= keys.resolve()
    assert all(rejection.path == f"$.{fields[0]}" for rejection in found.values())
    return {record_no: rejection.reason for record_no, rejection in found.items()}


def test_a_repeated_key_is_rejected_with_the_first_occurrence():
    records = [
        {"symbol": "IBM", "date": "2025-01-02"},
        {"symbol": "IBM", "date": "2025-01-03"},
        {"symbol": "MSFT", "date": "2025-01-02"},
        {"symbol": "IBM", "date": "2025-01-02", "4. close": "1"},
    ]
    assert repeats(("symbol", "date"), records) == {
        4: "duplicate key symbol='IBM', date='2025-01-02': first seen at record 1 of the batch"
    }


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1000])
def test_chunks_find_the_same_repeats_as_one_pass_over_the_batch(chunk):
    """Records resolved a chunk at a time (later chunks against a SQLite table of the earlier ones) give the
    answer of one pass: every repeat, each with the first record that had its key."""
    ids = [5, 1, 5, 2, 3, 1, 5, 4, 2, 6, 6, 7, 1, "5", 5.0, None, None]
    records = [{"id": value} for value in ids]
    expected = {}
    first: dict = {}
    for record_no, value in enumerate(ids, start=1):
        key = (type(value) is str, value)  # 5 and 5.0 are one key, as in SQL; the string "5" is another
        if key in first:
            expected[record_no] = f"duplicate key id={value!r}: first seen at record {first[key]} of the batch"
        first.setdefault(key, record_no)
    assert repeats(("id",), records, chunk=chunk) == expected
    assert 15 in expected  # 5.0 repeats 5, found across chunks too


def test_keys_of_unhashable_values_and_entities_without_a_key():
    assert repeats(("id",), [{"id": [1, 2]}, {"id": [1, 2]}]) == {
        2: "duplicate key id=[1, 2]: first seen at record 1 of the batch"
    }
    assert repeats((), [{"id": 1}, {"id": 1}]) == {}


@pytest.mark.parametrize("chunk", [1, 1000])
def test_an_unhashable_key_never_matches_a_string_that_spells_its_json(chunk):
    records = [{"id": [1, 2]}, {"id": "[[1, 2]]"}, {"id": "[[1, 2]]"}]
    assert repeats(("id",), records, chunk=chunk) == {
        3: "duplicate key id='[[1, 2]]': first seen at record 2 of the batch"
    }


def test_memory_holds_one_chunk_whatever_the_batch():
    """The keys of earlier chunks live in SQLite on disk: what stays in Python is one chunk at most."""
    with DuplicateKeys(("id",), chunk=100) as keys:
        for record_no in range(1, 10_001):
            keys.add({"id": record_no % 5000}, record_no)
            if record_no % 100 == 0:
                assert len(keys.resolve()) == (100 if record_no > 5000 else 0)
            assert len(keys._pending) <= 100
            assert len(keys._first_chunk or {}) <= 100
