import gzip
import io
from datetime import UTC, datetime

import pytest

from python_scripts.ingest.lake import (
    LocalLake,
    batch_id_for,
    iter_lines,
    lake_from_url,
    object_key,
    open_lines_reader,
    open_lines_writer,
)

START = datetime(2025, 1, 15, tzinfo=UTC)
END = datetime(2025, 1, 16, tzinfo=UTC)


def test_keys_are_a_pure_function_of_the_interval():
    batch = batch_id_for(START, END)
    assert batch == "20250115T000000Z_20250116T000000Z"
    assert object_key("raw", "fakestore", "carts", START, batch) == (
        "raw/fakestore/carts/2025/01/15/20250115T000000Z_20250116T000000Z.json.gz"
    )
    assert object_key("rejected", "fakestore", "carts", START, batch, "none").endswith("/2025/01/15/" + batch + ".json")
    assert batch_id_for(START, END) == batch_id_for(START, END)
    assert batch_id_for(START, datetime(2025, 1, 15, 1, tzinfo=UTC)) != batch


def test_unknown_compression_is_refused():
    with pytest.raises(ValueError, match="LAKE_COMPRESSION"):
        object_key("raw", "s", "e", START, "b", "zstd")


def test_local_write_is_atomic_and_overwrites(tmp_path):
    lake = LocalLake(tmp_path)
    key = "raw/s/e/2025/01/15/b.json"
    with lake.writer(key) as out:
        out.write(b"first\n")

    def crash_while_writing():
        with lake.writer(key) as out:
            out.write(b"half of the second")
            raise RuntimeError("crash while writing")

    with pytest.raises(RuntimeError):
        crash_while_writing()
    with lake.reader(key) as stream:
        assert stream.read() == b"first\n"
    assert [p.name for p in (tmp_path / "raw/s/e/2025/01/15").iterdir()] == ["b.json"]
    with lake.writer(key) as out:
        out.write(b"second\n")
    with lake.reader(key) as stream:
        assert stream.read() == b"second\n"


def test_local_lake_refuses_keys_outside_its_root(tmp_path):
    with pytest.raises(ValueError, match="escapes"):
        LocalLake(tmp_path).uri("../outside.json")


def test_gzip_objects_round_trip_and_are_deterministic(tmp_path):
    lake = LocalLake(tmp_path)
    for key in ("a.json.gz", "b.json.gz"):
        with open_lines_writer(lake, key) as out:
            out.write(b'{"x":1}\n{"x":2}\n')
    assert (tmp_path / "a.json.gz").read_bytes() == (tmp_path / "b.json.gz").read_bytes()
    assert gzip.decompress((tmp_path / "a.json.gz").read_bytes()) == b'{"x":1}\n{"x":2}\n'
    with open_lines_reader(lake, "a.json.gz") as stream:
        assert list(iter_lines(stream)) == [b'{"x":1}', b'{"x":2}']


def test_iter_lines_across_chunk_boundaries():
    data = b"".join(b"line-%d\n" % i for i in range(1000)) + b"last-without-newline"
    lines = list(iter_lines(io.BytesIO(data), chunk_size=7))
    assert lines[0] == b"line-0"
    assert lines[999] == b"line-999"
    assert lines[-1] == b"last-without-newline"
    assert len(lines) == 1001


def test_lake_from_url(tmp_path):
    assert isinstance(lake_from_url(str(tmp_path)), LocalLake)
    assert isinstance(lake_from_url(tmp_path.as_uri()), LocalLake)
    with pytest.raises(ValueError, match="LAKE_URL"):
        lake_from_url("ftp://host/x")
