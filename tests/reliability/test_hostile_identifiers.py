"""Names that come from data or settings are data, never SQL.

Every place that puts a name into SQL is driven with hostile names here: the bronze table of a source entity
(``pipeline.bronze_table``, through a whole ``load_from_lake``), the role of ``db.connect`` (``SET ROLE`` from the
settings), the database names of sql/init (psql variables, ``format('%I')``, ``:"name"`` and ``:'name'``) and
the tables the summary reads. Each test checks that the odd name round-trips exactly and that the audit and
bronze tables its payload tries to drop are still there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import psycopg
import pytest
from psycopg import sql

from python_scripts.ingest.bronze import bronze_table, create_bronze_tables
from python_scripts.ingest.lake import RAW, REJECTED, batch_id_for, lake_from_url, object_key, open_lines_writer
from python_scripts.ingest.load import load_from_lake
from python_scripts.ops import summary
from python_scripts.settings import Settings
from python_scripts.sources import SOURCES
from python_scripts.warehouse.db import connect
from python_scripts.warehouse.init import apply_sql_init
from tests.support.warehouse import TEST_AIRFLOW_DB, TEST_WAREHOUSE_DB

HOSTILE = {
    "quote-injection": 'x"; DROP TABLE audit.ingestion_runs; --',
    "bobby-tables": "Robert'); DROP TABLE bronze.fakestore_products;--",
    "space": "a b",
    "mixed-case": "MiXeD",
    "non-ascii": "ü",
    "lone-double-quote": '"',
}
hostile_names = pytest.mark.parametrize("name", list(HOSTILE.values()), ids=list(HOSTILE))

# Roles and databases are cluster-wide: suffix them per test warehouse so concurrent sessions never collide.
TAG = hashlib.sha256(TEST_WAREHOUSE_DB.encode()).hexdigest()[:6]
MAX_IDENTIFIER_BYTES = 63  # NAMEDATALEN - 1; longer names would be truncated, not round-trip

START = datetime(2025, 1, 15, tzinfo=UTC)
END = datetime(2025, 1, 16, tzinfo=UTC)
LANDING_TABLES = [("audit", "ingestion_runs"), ("audit", "rejected_records")] + [
    ("bronze", f"{source.name}_{entity}") for source in SOURCES.values() for entity in source.entity_names
]


def cluster_name(name: str, suffix: str = "") -> str:
    """``name`` made unique to this test session, within PostgreSQL's identifier length."""
    unique = f"{name}_{TAG}{suffix}"
    assert len(unique.encode()) <= MAX_IDENTIFIER_BYTES, unique
    return unique


def missing_tables(conn: psycopg.Connection, tables: list[tuple[str, str]] = LANDING_TABLES) -> list[tuple]:
    present = set(conn.execute("SELECT schemaname, tablename FROM pg_tables").fetchall())
    return [table for table in tables if table not in present]


@pytest.fixture
def admin(settings: Settings) -> Iterator[psycopg.Connection]:
    """An admin connection to the test warehouse, with every bronze table of the registry in place."""
    create_bronze_tables(settings)
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        assert missing_tables(conn) == []
        yield conn
        assert missing_tables(conn) == [], "a hostile name dropped a landing table"


@hostile_names
def test_bronze_table_quotes_the_name(admin, name):
    composed = bronze_table(name, "things").as_string(admin)
    assert composed == 'bronze."' + f"{name}_things".replace('"', '""') + '"'


@pytest.mark.parametrize("where", ["source", "entity"])
@hostile_names
def test_load_round_trips_a_hostile_source_or_entity(settings, admin, name, where):
    source, entity = (name, "things") if where == "source" else ("things", name)
    table_name = f"{source}_{entity}"
    batch_id = batch_id_for(START, END)
    records = [{"id": 1, "name": name}, {"id": 2, "name": "plain"}, {"id": "three"}]
    lake = lake_from_url(settings.lake_url)
    raw_key = object_key(RAW, source, entity, START, batch_id)
    rejected_key = object_key(REJECTED, source, entity, START, batch_id)
    fields = {"source": source, "entity": entity, "batch_id": batch_id, "interval_start": START.isoformat()}
    fields |= {"interval_end": END.isoformat(), "extracted_at": END.isoformat()}
    envelope = orjson.dumps({"envelope": fields}) + b"\n"
    with open_lines_writer(lake, raw_key) as raw, open_lines_writer(lake, rejected_key) as rejected:
        raw.write(envelope + b"".join(orjson.dumps(record) + b"\n" for record in records))
        reject = {"record_no": 3, "path": "$.id", "reason": f"{name} is not an integer", "record": records[2]}
        rejected.write(envelope + orjson.dumps(reject) + b"\n")
    manifest = {
        "source": source,
        "entity": entity,
        "batch_id": batch_id,
        "interval_start": START.isoformat(),
        "interval_end": END.isoformat(),
        "raw_key": raw_key,
        "rejected_key": rejected_key,
        "raw_uri": lake.uri(raw_key),
        "extracted": 3,
        "valid": 2,
        "rejected": 1,
    }
    table = sql.Identifier("bronze", table_name)
    try:
        assert load_from_lake(manifest, settings=settings)["loaded"] == 2
        # Twice: the rerun deletes the batch by the same composed name and loads it again.
        assert load_from_lake(manifest, settings=settings)["loaded"] == 2

        assert admin.execute(
            "SELECT tableowner FROM pg_tables WHERE schemaname = 'bronze' AND tablename = %s", (table_name,)
        ).fetchall() == [(settings.loader_role,)]
        payloads = admin.execute(sql.SQL("SELECT payload FROM {} ORDER BY record_no").format(table)).fetchall()
        assert [payload for (payload,) in payloads] == records[:2]
        runs = admin.execute(
            "SELECT stage, status FROM audit.ingestion_runs WHERE source = %s AND entity = %s ORDER BY run_id",
            (source, entity),
        ).fetchall()
        assert runs == [("load", "success")] * 2
        assert admin.execute(
            "SELECT record_no, reason FROM audit.rejected_records WHERE source = %s AND entity = %s",
            (source, entity),
        ).fetchall() == [(3, f"{name} is not an integer")]
        assert (f"bronze.{table_name}", 2, 1, 1) in summary.bronze_summary(admin)
    finally:
        admin.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
        for audit_table in ("ingestion_runs", "rejected_records"):
            admin.execute(
                sql.SQL("DELETE FROM {} WHERE source = %s AND entity = %s").format(
                    sql.Identifier("audit", audit_table)
                ),
                (source, entity),
            )


@hostile_names
def test_connect_switches_to_a_hostile_role_from_the_settings(settings, admin, name):
    role = cluster_name(name)
    admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
    admin.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
    try:
        hostile = settings.replace(loader_role=role, transformer_role=role)
        with connect(hostile, hostile.loader_role) as conn:
            assert conn.execute("SELECT current_user, session_user").fetchone() == (role, settings.postgres.user)
    finally:
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@hostile_names
def test_connect_refuses_an_unknown_hostile_role(settings, admin, name):
    role = cluster_name(name, "_nx")  # never created
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="does not exist"):
        connect(settings.replace(loader_role=role), role)


@hostile_names
def test_sql_init_creates_databases_with_hostile_names(settings, admin, name):
    """sql/init takes the database names as psql variables: ``format('CREATE DATABASE %I')``, ``\\connect
    :"name"``, ``GRANT … ON DATABASE :"name"``; then the bronze tables are created through the URL."""
    warehouse_db, airflow_db = cluster_name(name, "_wh"), cluster_name(name, "_af")
    try:
        apply_sql_init(settings, warehouse_db, airflow_db)
        created = admin.execute(
            "SELECT datname FROM pg_database WHERE datname = ANY(%s) ORDER BY datname", ([warehouse_db, airflow_db],)
        ).fetchall()
        assert created == sorted([(warehouse_db,), (airflow_db,)])
        # The privileges landed on the hostile database itself: PUBLIC revoked, the roles granted.
        grants = admin.execute(
            "SELECT coalesce(r.rolname, 'PUBLIC'), a.privilege_type FROM pg_database d, aclexplode(d.datacl) a "
            "LEFT JOIN pg_roles r ON r.oid = a.grantee WHERE d.datname = %s",
            (warehouse_db,),
        ).fetchall()
        assert ("PUBLIC", "CONNECT") not in grants
        assert ("bi_reader", "CONNECT") in grants
        with psycopg.connect(settings.postgres.url(warehouse_db), autocommit=True) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (warehouse_db,)
            assert missing_tables(conn) == []
            assert conn.execute(
                "SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = ANY(%s) ORDER BY 1",
                (["audit", "bronze", "core", "intermediate", "marts", "staging"],),
            ).fetchall() == [
                ("audit", "loader"),
                ("bronze", "loader"),
                ("core", "transformer"),
                ("intermediate", "transformer"),
                ("marts", "transformer"),
                ("staging", "transformer"),
            ]
    finally:
        for database in (warehouse_db, airflow_db):
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
    # The test's own databases are untouched.
    assert admin.execute(
        "SELECT count(*) FROM pg_database WHERE datname = ANY(%s)", ([TEST_WAREHOUSE_DB, TEST_AIRFLOW_DB],)
    ).fetchone() == (2,)


@hostile_names
def test_summary_reads_a_mart_with_a_hostile_name(settings, admin, name, capsys):
    mart = sql.Identifier("marts", name)
    try:
        with connect(settings, settings.transformer_role) as conn:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(mart))
            conn.execute(sql.SQL("CREATE TABLE {} AS SELECT {}::text AS label").format(mart, sql.Literal(name)))
        assert (f"marts.{name}", 1) in summary.marts_summary(admin)
        summary.print_summary(settings)
        assert f"marts.{name}: first rows" in capsys.readouterr().out
    finally:
        admin.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(mart))
