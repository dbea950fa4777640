"""A short, readable summary of the warehouse: bronze batches, the last ingestion runs, the marts."""

from __future__ import annotations

import psycopg
from psycopg import sql

from python_scripts.settings import Settings, get_settings


def _table(headers: list[str], rows: list[tuple]) -> str:
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join("  " + line for line in lines)


def _tables(conn: psycopg.Connection, schema: str) -> list[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1", (schema,)
    ).fetchall()
    return [name for (name,) in rows]


def bronze_summary(conn: psycopg.Connection) -> list[tuple]:
    out = []
    for name in _tables(conn, "bronze"):
        query = sql.SQL("SELECT count(*), count(DISTINCT batch_id) FROM {}").format(sql.Identifier("bronze", name))
        rows, batches = conn.execute(query).fetchone()
        rejected = conn.execute(
            "SELECT count(*) FROM audit.rejected_records WHERE source || '_' || entity = %s", (name,)
        ).fetchone()[0]
        out.append((f"bronze.{name}", rows, batches, rejected))
    return out


def marts_summary(conn: psycopg.Connection) -> list[tuple]:
    out = []
    for name in _tables(conn, "marts"):
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("marts", name))
        out.append((f"marts.{name}", conn.execute(query).fetchone()[0]))
    return out


def print_summary(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        print(f"\nWarehouse {settings.postgres.describe(settings.warehouse_db)}\n")
        print(_table(["bronze table", "rows", "batches", "rejected"], bronze_summary(conn)))
        runs = conn.execute(
            """
            SELECT DISTINCT ON (source, entity) source || '.' || entity, batch_id, status,
                   extracted_count, rejected_count, loaded_count, round(duration_s::numeric, 2)
            FROM audit.ingestion_runs WHERE stage = 'load'
            ORDER BY source, entity, run_id DESC
            """
        ).fetchall()
        print("\nLatest loads (audit.ingestion_runs)\n")
        print(_table(["entity", "batch", "status", "extracted", "rejected", "loaded", "seconds"], runs))
        marts = marts_summary(conn)
        if not marts:
            return
        print("\nMarts\n")
        print(_table(["mart", "rows"], marts))
        if any(name == "marts.mart_sales_overview" for name, _ in marts):
            cur = conn.execute(
                """
                SELECT category, sum(items) AS cart_lines, sum(units) AS units, sum(revenue) AS revenue,
                       count(DISTINCT city) AS cities, min(cart_date) AS first_day, max(cart_date) AS last_day
                FROM marts.mart_sales_overview GROUP BY category ORDER BY revenue DESC
                """
            )
            print("\nmart_sales_overview by category\n")
            print(_table([c.name for c in cur.description], cur.fetchall()))
            cur = conn.execute("SELECT * FROM marts.mart_sales_overview ORDER BY revenue DESC, 1, 2, 3 LIMIT 5")
            print("\nmart_sales_overview: top 5 rows by revenue\n")
            print(_table([c.name for c in cur.description], cur.fetchall()))


if __name__ == "__main__":
    print_summary()
