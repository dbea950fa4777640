"""Fingerprints of tables, to compare two states of the warehouse (a rerun, a backfill, an incremental run
against a full refresh): the row count and a digest of the rows in any order."""

from __future__ import annotations

from collections.abc import Collection

from psycopg import sql

# Columns that record when or where something ran rather than what the data is: a rerun moves them.
VOLATILE_COLUMNS = frozenset({"loaded_at", "last_loaded_at", "extracted_at", "lake_uri"})


def table_checksum(conn, table: str, exclude: Collection[str] = VOLATILE_COLUMNS) -> tuple[int, str]:
    """Row count and an order-independent digest of ``schema.table``'s rows, the ``exclude`` columns left out.
    ``conn`` is anything with psycopg's ``execute``.

    The digest sums each row's md5 (as two 64-bit halves) rather than hashing the sorted rows as one string:
    a sum needs no sort and no buffer, so it stays flat for any size of table (a string of all the rows
    would pass PostgreSQL's 1 GB limit for a value at 10^7 carts), and it still counts a repeated row twice."""
    schema, name = table.split(".", 1)
    columns = [
        column
        for (column,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
            " ORDER BY ordinal_position",
            (schema, name),
        )
        if column not in exclude
    ]
    if not columns:
        raise LookupError(f"{table} does not exist, or every column of it is excluded")
    query = sql.SQL(
        "SELECT count(*), md5(concat_ws(':', sum(('x' || left(hash, 16))::bit(64)::bigint::numeric),"
        " sum(('x' || right(hash, 16))::bit(64)::bigint::numeric)))"
        " FROM (SELECT md5(ROW({columns})::text) AS hash FROM {table}) AS rows"
    ).format(columns=sql.SQL(", ").join(map(sql.Identifier, columns)), table=sql.Identifier(schema, name))
    count, digest = conn.execute(query).fetchone()
    return count, digest
