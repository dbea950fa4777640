"""Least privilege, checked against the warehouse that sql/init builds.

The rule: ``loader`` writes only ``bronze`` and ``audit``; ``transformer`` owns ``staging``, ``intermediate``,
``core`` and ``marts`` and reads ``bronze`` and ``audit``; ``bi_reader`` reads ``marts`` only. Every session
connects as the admin and switches with ``SET ROLE`` (``python_scripts.warehouse.db.connect``, dbt's ``role:``), as the
platform does.

Each denial is its own test case. Statements run in a transaction that is always rolled back, so a hole shows
up as a failed test and never as a changed warehouse.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.errors import InsufficientPrivilege

from python_scripts.ingest.bronze import create_bronze_tables
from python_scripts.settings import Settings, get_settings
from python_scripts.warehouse.db import connect
from tests.support.warehouse import TEST_WAREHOUSE_DB

LOADER, TRANSFORMER, BI_READER = "loader", "transformer", "bi_reader"
DENIED = "permission denied"
# DROP and ALTER of an object in a schema the role may use answer "must be owner of ..." (same SQLSTATE 42501).
NOT_OWNER = "must be owner"

# One table per layer, created by the fixture as its owner.
BRONZE_TABLE = ("bronze", "fakestore_products")
AUDIT_TABLE = ("audit", "ingestion_runs")
LANDING_TABLES = {"bronze": BRONZE_TABLE, "audit": AUDIT_TABLE}
LAYER_TABLES = {
    "staging": ("staging", "priv_stg"),
    "intermediate": ("intermediate", "priv_int"),
    "core": ("core", "priv_core"),
    "marts": ("marts", "priv_mart"),
}
MARTS_TABLE = LAYER_TABLES["marts"]
# SECURITY DEFINER functions: whoever may execute them acts with their owner's rights.
LOADER_FUNCTION = ("bronze", "priv_definer")
TRANSFORMER_FUNCTION = ("marts", "priv_definer")

# Complete rows, so that a missing denial would succeed (and be rolled back) rather than fail on a constraint.
ROWS = {
    "bronze": (
        "INSERT INTO {table} (batch_id, record_no, record_hash, payload, lake_uri, interval_start, interval_end, "
        "extracted_at) VALUES ('priv', 1, 'hash', '{{}}', 'file:///priv', now(), now(), now())"
    ),
    "audit": (
        "INSERT INTO {table} (source, entity, batch_id, stage, status) VALUES ('priv', 'test', 'b', 'load', 'running')"
    ),
    "staging": "INSERT INTO {table} (id) VALUES (2)",
    "intermediate": "INSERT INTO {table} (id) VALUES (2)",
    "core": "INSERT INTO {table} (id) VALUES (2)",
    "marts": "INSERT INTO {table} (id) VALUES (2)",
}
UPDATES = {
    "bronze": "UPDATE {table} SET record_hash = 'changed'",
    "audit": "UPDATE {table} SET status = 'failed'",
    "staging": "UPDATE {table} SET id = 3",
    "intermediate": "UPDATE {table} SET id = 3",
    "core": "UPDATE {table} SET id = 3",
    "marts": "UPDATE {table} SET id = 3",
}


@dataclasses.dataclass(frozen=True)
class Case:
    """One statement run as ``role``; ``{schema}``, ``{table}`` and ``{function}`` become quoted identifiers."""

    id: str
    role: str
    statement: str
    schema: str | None = None
    table: tuple[str, str] | None = None
    function: tuple[str, str] | None = None
    message: str = DENIED

    def query(self) -> sql.Composed:
        names = {}
        if self.schema:
            names["schema"] = sql.Identifier(self.schema)
        if self.table:
            names["table"] = sql.Identifier(*self.table)
        if self.function:
            names["function"] = sql.Identifier(*self.function)
        return sql.SQL(self.statement).format(**names)


def _loader_denials() -> Iterator[Case]:
    """The loader writes bronze and audit only: nothing in the transformer's layers, nothing elsewhere."""
    for schema, table in LAYER_TABLES.items():
        yield Case(f"loader-create-table-in-{schema}", LOADER, "CREATE TABLE {schema}.by_loader (id int)", schema)
        yield Case(
            f"loader-create-view-in-{schema}", LOADER, "CREATE VIEW {schema}.by_loader AS SELECT 1 AS id", schema
        )
        yield Case(f"loader-select-into-{schema}", LOADER, "SELECT 1 AS id INTO {schema}.by_loader", schema)
        yield Case(f"loader-insert-{schema}", LOADER, ROWS[schema], table=table)
        yield Case(f"loader-update-{schema}", LOADER, UPDATES[schema], table=table)
        yield Case(f"loader-delete-{schema}", LOADER, "DELETE FROM {table}", table=table)
        yield Case(f"loader-truncate-{schema}", LOADER, "TRUNCATE {table}", table=table)
        yield Case(f"loader-alter-{schema}", LOADER, "ALTER TABLE {table} ADD COLUMN by_loader int", table=table)
        yield Case(f"loader-drop-table-{schema}", LOADER, "DROP TABLE {table}", table=table)
        yield Case(f"loader-drop-schema-{schema}", LOADER, "DROP SCHEMA {schema} CASCADE", schema, message=NOT_OWNER)
    yield Case("loader-create-table-in-public", LOADER, "CREATE TABLE public.by_loader (id int)")
    yield Case("loader-create-schema", LOADER, "CREATE SCHEMA by_loader")


def _transformer_denials() -> Iterator[Case]:
    """The transformer reads bronze and audit but never changes them, and creates nothing outside its layers."""
    for schema, table in LANDING_TABLES.items():
        yield Case(f"transformer-insert-{schema}", TRANSFORMER, ROWS[schema], table=table)
        yield Case(f"transformer-update-{schema}", TRANSFORMER, UPDATES[schema], table=table)
        yield Case(f"transformer-delete-{schema}", TRANSFORMER, "DELETE FROM {table}", table=table)
        yield Case(f"transformer-truncate-{schema}", TRANSFORMER, "TRUNCATE {table}", table=table)
        yield Case(
            f"transformer-create-table-in-{schema}", TRANSFORMER, "CREATE TABLE {schema}.by_dbt (id int)", schema
        )
        yield Case(f"transformer-select-into-{schema}", TRANSFORMER, "SELECT 1 AS id INTO {schema}.by_dbt", schema)
        yield Case(
            f"transformer-alter-{schema}",
            TRANSFORMER,
            "ALTER TABLE {table} ADD COLUMN by_dbt int",
            table=table,
            message=NOT_OWNER,
        )
        yield Case(
            f"transformer-drop-table-{schema}", TRANSFORMER, "DROP TABLE {table}", table=table, message=NOT_OWNER
        )
    yield Case(
        "transformer-execute-loader-definer-function",
        TRANSFORMER,
        "SELECT {function}()",
        function=LOADER_FUNCTION,
    )
    yield Case("transformer-create-table-in-public", TRANSFORMER, "CREATE TABLE public.by_dbt (id int)")
    yield Case("transformer-create-schema", TRANSFORMER, "CREATE SCHEMA by_dbt")


def _bi_reader_denials() -> Iterator[Case]:
    """bi_reader reads the marts and does nothing else."""
    for schema, table in {
        **LANDING_TABLES,
        **{layer: LAYER_TABLES[layer] for layer in LAYER_TABLES if layer != "marts"},
    }.items():
        yield Case(f"bi_reader-select-{schema}", BI_READER, "SELECT * FROM {table}", table=table)
    yield Case("bi_reader-insert-marts", BI_READER, ROWS["marts"], table=MARTS_TABLE)
    yield Case("bi_reader-update-marts", BI_READER, UPDATES["marts"], table=MARTS_TABLE)
    yield Case("bi_reader-delete-marts", BI_READER, "DELETE FROM {table}", table=MARTS_TABLE)
    yield Case("bi_reader-truncate-marts", BI_READER, "TRUNCATE {table}", table=MARTS_TABLE)
    yield Case(
        "bi_reader-alter-marts",
        BI_READER,
        "ALTER TABLE {table} ADD COLUMN by_bi int",
        table=MARTS_TABLE,
        message=NOT_OWNER,
    )
    yield Case("bi_reader-drop-table-marts", BI_READER, "DROP TABLE {table}", table=MARTS_TABLE, message=NOT_OWNER)
    for schema in ("public", "bronze", "audit", "staging", "intermediate", "core", "marts"):
        yield Case(f"bi_reader-create-table-in-{schema}", BI_READER, "CREATE TABLE {schema}.by_bi (id int)", schema)
    yield Case("bi_reader-select-into-marts", BI_READER, "SELECT 1 AS id INTO {schema}.by_bi", "marts")
    yield Case("bi_reader-create-temp-table", BI_READER, "CREATE TEMPORARY TABLE by_bi (id int)")
    yield Case("bi_reader-create-schema", BI_READER, "CREATE SCHEMA by_bi")
    yield Case(
        "bi_reader-execute-transformer-definer-function",
        BI_READER,
        "SELECT {function}()",
        function=TRANSFORMER_FUNCTION,
    )


DENIALS = [*_loader_denials(), *_transformer_denials(), *_bi_reader_denials()]


@pytest.fixture(scope="module")
def roles_settings(pg_server) -> Iterator[Settings]:
    """The test warehouse as sql/init built it, with the bronze tables, one table per transformer layer and a
    SECURITY DEFINER function owned by each writing role."""
    settings = get_settings().replace(warehouse_db=TEST_WAREHOUSE_DB)
    create_bronze_tables(settings)
    with connect(settings, TRANSFORMER, "privileges-test") as conn:
        for table in LAYER_TABLES.values():
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(*table)))
            conn.execute(sql.SQL("CREATE TABLE {} AS SELECT 1 AS id").format(sql.Identifier(*table)))
        conn.execute(
            sql.SQL(
                "CREATE OR REPLACE FUNCTION {}() RETURNS integer LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'"
            ).format(sql.Identifier(*TRANSFORMER_FUNCTION))
        )
    with connect(settings, LOADER, "privileges-test") as conn:
        conn.execute(
            sql.SQL(
                "CREATE OR REPLACE FUNCTION {}() RETURNS integer LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'"
            ).format(sql.Identifier(*LOADER_FUNCTION))
        )
    yield settings
    with connect(settings, TRANSFORMER, "privileges-test") as conn:
        for table in LAYER_TABLES.values():
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(*table)))
        conn.execute(sql.SQL("DROP FUNCTION IF EXISTS {}()").format(sql.Identifier(*TRANSFORMER_FUNCTION)))
    with connect(settings, LOADER, "privileges-test") as conn:
        conn.execute(sql.SQL("DROP FUNCTION IF EXISTS {}()").format(sql.Identifier(*LOADER_FUNCTION)))


def run_as(settings: Settings, role: str, *queries: sql.Composable) -> list[tuple]:
    """Run ``queries`` as ``role`` (admin connection + SET ROLE) in one transaction that is always rolled back;
    return the rows of the last one."""
    with connect(settings, role, "privileges-test") as conn:
        assert conn.execute("SELECT current_user").fetchone() == (role,)
        with conn.transaction(force_rollback=True), conn.cursor() as cur:
            for query in queries:
                cur.execute(query)
            return cur.fetchall() if cur.description else []


@pytest.mark.parametrize("case", DENIALS, ids=[case.id for case in DENIALS])
def test_denied(roles_settings: Settings, case: Case):
    with pytest.raises(InsufficientPrivilege, match=case.message):
        run_as(roles_settings, case.role, case.query())


@pytest.mark.parametrize(
    ("schema", "statement"),
    [
        ("bronze", ROWS["bronze"]),
        ("bronze", UPDATES["bronze"]),
        ("bronze", "DELETE FROM {table}"),
        ("bronze", "TRUNCATE {table}"),
        ("bronze", "CREATE TABLE bronze.new_source_entity (id int)"),
        ("audit", ROWS["audit"]),
        ("audit", UPDATES["audit"]),
        (
            "audit",
            "INSERT INTO audit.rejected_records (source, entity, batch_id, record_no, reason, path, lake_uri) "
            "VALUES ('priv', 'test', 'b', 1, 'bad', '$', 'file:///priv')",
        ),
    ],
    ids=[
        "insert-bronze",
        "update-bronze",
        "delete-bronze",
        "truncate-bronze",
        "create-table-in-bronze",
        "insert-audit-ingestion_runs",
        "update-audit-ingestion_runs",
        "insert-audit-rejected_records",
    ],
)
def test_loader_writes_bronze_and_audit(roles_settings: Settings, schema: str, statement: str):
    run_as(roles_settings, LOADER, sql.SQL(statement).format(table=sql.Identifier(*LANDING_TABLES[schema])))


@pytest.mark.parametrize(
    "table",
    [BRONZE_TABLE, AUDIT_TABLE, ("audit", "rejected_records")],
    ids=["bronze", "audit-ingestion_runs", "audit-rejected_records"],
)
def test_transformer_reads_bronze_and_audit(roles_settings: Settings, table: tuple[str, str]):
    run_as(roles_settings, TRANSFORMER, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*table)))


@pytest.mark.parametrize("schema", list(LAYER_TABLES))
def test_transformer_builds_its_layers(roles_settings: Settings, schema: str):
    table = sql.Identifier(schema, "built_by_dbt")
    rows = run_as(
        roles_settings,
        TRANSFORMER,
        sql.SQL("CREATE TABLE {} AS SELECT record_no FROM {}").format(table, sql.Identifier(*BRONZE_TABLE)),
        sql.SQL("CREATE VIEW {} AS SELECT * FROM {}").format(sql.Identifier(schema, "built_by_dbt_view"), table),
        sql.SQL("INSERT INTO {} VALUES (1)").format(table),
        sql.SQL("SELECT count(*) FROM {}").format(table),
    )
    assert rows[0][0] >= 1


def test_bi_reader_reads_a_new_mart_through_default_privileges(roles_settings: Settings):
    """A mart the transformer creates is readable by bi_reader without any GRANT (ALTER DEFAULT PRIVILEGES);
    dbt's +grants on the marts are a second line, not the only one."""
    mart = sql.Identifier("marts", "priv_new_mart")
    try:
        with connect(roles_settings, TRANSFORMER, "privileges-test") as conn:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(mart))
            conn.execute(sql.SQL("CREATE TABLE {} AS SELECT 42 AS answer").format(mart))
        assert run_as(roles_settings, BI_READER, sql.SQL("SELECT answer FROM {}").format(mart)) == [(42,)]
    finally:
        with connect(roles_settings, TRANSFORMER, "privileges-test") as conn:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(mart))


def test_bi_reader_reads_the_marts(roles_settings: Settings):
    assert run_as(roles_settings, BI_READER, sql.SQL("SELECT id FROM {}").format(sql.Identifier(*MARTS_TABLE))) == [
        (1,)
    ]


def test_every_role_is_covered():
    """Guards the parametrisation: each role has denials, and ids are unique."""
    assert {case.role for case in DENIALS} == {LOADER, TRANSFORMER, BI_READER}
    assert len({case.id for case in DENIALS}) == len(DENIALS)


def test_roles_are_plain(roles_settings: Settings):
    """The denials above hold only for plain roles: no superuser, role or database creation, no bypass of row
    security, and no membership in any role (another project role, pg_write_all_data …) to inherit or
    SET ROLE to."""
    with psycopg.connect(roles_settings.warehouse_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
            "WHERE rolname = ANY(%s) ORDER BY rolname",
            ([LOADER, TRANSFORMER, BI_READER],),
        ).fetchall()
        assert rows == [(role, False, False, False, False) for role in sorted([LOADER, TRANSFORMER, BI_READER])]
        memberships = conn.execute(
            "SELECT m.rolname, r.rolname FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid "
            "JOIN pg_roles m ON m.oid = a.member WHERE m.rolname = ANY(%s)",
            ([LOADER, TRANSFORMER, BI_READER],),
        ).fetchall()
        assert memberships == []
