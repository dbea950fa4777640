"""A short, readable summary of the warehouse: bronze batches, the last ingestion runs, the marts."""

from __future__ import annotations

import psycopg
from psycopg import sql

from python_scripts.settings import Settings, get_settings


def format_table(headers: list[str], rows: list[tuple]) -> str:
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
        print(format_table(["bronze table", "rows", "batches", "rejected"], bronze_summary(conn)))
        runs = conn.execute(
            """
            SELECT DISTINCT ON (source, entity, batch_id) source || '.' || entity, batch_id, status,
                   extracted_count, rejected_count, loaded_count, round(duration_s::numeric, 3)
            FROM audit.ingestion_runs
            WHERE stage = 'load'
              AND interval_end = (SELECT max(interval_end) FROM audit.ingestion_runs r
                                  WHERE r.source = ingestion_runs.source AND r.entity = ingestion_runs.entity)
            ORDER BY source, entity, batch_id, run_id DESC
            """
        ).fetchall()
        print("\nLatest loads (audit.ingestion_runs)\n")
        print(format_table(["entity", "batch", "status", "extracted", "rejected", "loaded", "seconds"], runs))
        marts = marts_summary(conn)
        if not marts:
            return
        print("\nMarts\n")
        print(format_table(["mart", "rows"], marts))
        for name, _ in marts:
            title, query = HIGHLIGHTS.get(name.removeprefix("marts."), ("first rows", None))
            cur = conn.execute(query or sql.SQL("SELECT * FROM {} LIMIT 5").format(sql.Identifier("marts", name[6:])))
            print(f"\n{name}: {title}\n")
            print(format_table([c.name for c in cur.description], cur.fetchall()))


# One view per mart for the summary: (title, query).
HIGHLIGHTS: dict[str, tuple[str, str]] = {
    "mart_sales_overview": (
        "revenue by category",
        """
        SELECT category, sum(items) AS cart_lines, sum(units) AS units, sum(revenue) AS revenue,
               count(DISTINCT city) AS cities, min(cart_date) AS first_day, max(cart_date) AS last_day
        FROM marts.mart_sales_overview GROUP BY category ORDER BY revenue DESC
        """,
    ),
    "mart_product_performance": (
        "top 5 products by revenue",
        "SELECT * FROM marts.mart_product_performance ORDER BY revenue DESC NULLS LAST LIMIT 5",
    ),
    "mart_customer_activity": (
        "top 5 customers by revenue",
        "SELECT * FROM marts.mart_customer_activity ORDER BY revenue DESC NULLS LAST LIMIT 5",
    ),
    "mart_weather_daily": (
        "latest day per city",
        """
        SELECT DISTINCT ON (city_name) city_name, observation_date, temperature_min_c, temperature_mean_c,
               temperature_max_c, humidity_mean_pct, precipitation_mm, dominant_condition, observation_count
        FROM marts.mart_weather_daily ORDER BY city_name, observation_date DESC
        """,
    ),
    "mart_stock_performance": (
        "latest trading day per ticker",
        """
        SELECT DISTINCT ON (ticker) ticker, trade_date, close_price, round(daily_return, 6) AS daily_return,
               moving_average_7d, moving_average_30d, moving_average_90d, round(volatility_30d, 6) AS volatility_30d
        FROM marts.mart_stock_performance ORDER BY ticker, trade_date DESC
        """,
    ),
    "mart_order_status": ("orders by status", "SELECT * FROM marts.mart_order_status ORDER BY 1, 2"),
    "mart_pipeline_runs": (
        "ingestion attempts by source, stage and status",
        """
        SELECT source, stage, status, count(*) AS attempts, sum(loaded_count) AS loaded,
               sum(rejected_count) AS rejected, round(avg(duration_s)::numeric, 3) AS mean_seconds
        FROM marts.mart_pipeline_runs GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        """,
    ),
    "mart_source_freshness": (
        "freshness per source entity",
        """
        SELECT source, entity, last_success_at, round(seconds_since_last_success) AS seconds_since,
               rows_loaded_total, rows_rejected_total, failed_attempts_24h
        FROM marts.mart_source_freshness ORDER BY 1, 2
        """,
    ),
}


if __name__ == "__main__":
    print_summary()
