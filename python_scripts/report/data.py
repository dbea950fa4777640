"""What the report reads: one query per dataset, over the marts only, run as ``bi_reader``.

Aggregation happens here, in SQL, so the figures receive small row lists whatever the size of the marts, and
the report needs exactly the privileges a BI tool has.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import psycopg
from psycopg.rows import dict_row

from python_scripts.settings import Settings
from python_scripts.warehouse.db import connect

BI_READER_ROLE = "bi_reader"
# Attempts older than this are left out of the run charts: the audit trail grows with every hourly run.
RUNS_WINDOW_DAYS = 30


@dataclass(frozen=True)
class Dataset:
    """One query of the report and the mart it reads (named in the placeholder when it returns nothing)."""

    mart: str
    query: str


DATASETS: dict[str, Dataset] = {
    "sales_daily": Dataset(
        "mart_sales_overview",
        """
        SELECT cart_date, sum(revenue)::float8 AS revenue, sum(units) AS units
        FROM marts.mart_sales_overview GROUP BY cart_date ORDER BY cart_date
        """,
    ),
    "sales_by_category": Dataset(
        "mart_sales_overview",
        """
        SELECT category, sum(revenue)::float8 AS revenue, sum(units) AS units
        FROM marts.mart_sales_overview GROUP BY category ORDER BY revenue DESC, category
        """,
    ),
    "sales_by_city": Dataset(
        "mart_sales_overview",
        """
        SELECT city, sum(revenue)::float8 AS revenue, sum(units) AS units
        FROM marts.mart_sales_overview GROUP BY city ORDER BY revenue DESC, city LIMIT 15
        """,
    ),
    "top_products": Dataset(
        "mart_product_performance",
        """
        SELECT product_id, coalesce(title, 'product ' || product_id) AS title,
               coalesce(category, 'unknown') AS category, revenue::float8 AS revenue, units_sold, revenue_rank
        FROM marts.mart_product_performance ORDER BY revenue DESC, product_id LIMIT 10
        """,
    ),
    "customers": Dataset(
        "mart_customer_activity",
        """
        SELECT customer_id, city, carts, units, revenue::float8 AS revenue,
               average_cart_value::float8 AS average_cart_value, days_active
        FROM marts.mart_customer_activity ORDER BY customer_id
        """,
    ),
    "customers_by_city": Dataset(
        "mart_customer_activity",
        """
        SELECT city, count(*) AS customers, sum(carts) AS carts, sum(revenue)::float8 AS revenue
        FROM marts.mart_customer_activity GROUP BY city ORDER BY revenue DESC, city
        """,
    ),
    "weather": Dataset(
        "mart_weather_daily",
        """
        SELECT coalesce(city_name || ', ' || country_code, city_name, 'city ' || city_id) AS city, observation_date,
               temperature_min_c::float8 AS temperature_min_c, temperature_mean_c::float8 AS temperature_mean_c,
               temperature_max_c::float8 AS temperature_max_c, precipitation_mm::float8 AS precipitation_mm,
               humidity_mean_pct::float8 AS humidity_mean_pct, dominant_condition, observation_count
        FROM marts.mart_weather_daily ORDER BY city, observation_date
        """,
    ),
    "stocks": Dataset(
        "mart_stock_performance",
        """
        SELECT ticker, trade_date, close_price::float8 AS close_price,
               moving_average_7d::float8 AS moving_average_7d, moving_average_30d::float8 AS moving_average_30d,
               moving_average_90d::float8 AS moving_average_90d
        FROM marts.mart_stock_performance ORDER BY ticker, trade_date
        """,
    ),
    "order_status": Dataset(
        "mart_order_status",
        """
        SELECT status, currency, orders, total_amount::float8 AS total_amount
        FROM marts.mart_order_status ORDER BY currency, status
        """,
    ),
    "pipeline_runs": Dataset(
        "mart_pipeline_runs",
        f"""
        SELECT source || '.' || entity AS part, stage, status, batch_id, started_at, duration_s,
               loaded_count, rejected_count, error
        FROM marts.mart_pipeline_runs
        WHERE started_at > now() - interval '{RUNS_WINDOW_DAYS} days'
        ORDER BY started_at, run_id
        """,  # noqa: S608 - a constant, not input
    ),
    "freshness": Dataset(
        "mart_source_freshness",
        """
        SELECT source || '.' || entity AS part, last_success_at, last_interval_end, seconds_since_last_success,
               rows_loaded_total, rows_rejected_total, last_batch_loaded, last_batch_rejected, failed_attempts_24h
        FROM marts.mart_source_freshness ORDER BY source, entity
        """,
    ),
}

Rows = list[dict]


def connect_as_bi_reader(settings: Settings) -> psycopg.Connection:
    """A connection with bi_reader's rights: its own login when ``BI_READER_PASSWORD`` is set (servers with
    password authentication, the Docker stack), else the configured admin switched to the role, as the
    loads and dbt do on a trust-auth server."""
    if settings.bi_reader_password:
        password = settings.bi_reader_password.get_secret_value()
        login = dataclasses.replace(settings.postgres, user=BI_READER_ROLE, password=password)
        return connect(settings.replace(postgres=login), application_name="elt-report")
    return connect(settings, BI_READER_ROLE, application_name="elt-report")


def fetch_datasets(conn: psycopg.Connection) -> dict[str, Rows]:
    """Every dataset as a list of rows; a mart dbt has not built yet reads as empty, so a new warehouse
    gives a report of placeholders. Any other error (a missing privilege) is raised."""
    data: dict[str, Rows] = {}
    for name, dataset in DATASETS.items():
        try:
            with conn.cursor(row_factory=dict_row) as cur:
                data[name] = cur.execute(dataset.query).fetchall()
        except psycopg.errors.UndefinedTable:
            data[name] = []
    return data
