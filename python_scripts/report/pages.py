"""The report's pages: which charts each shows, from which dataset."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import plotly.graph_objects as go

from python_scripts.report.data import Rows
from python_scripts.report.figures import (
    amount_by_status,
    customer_activity,
    customers_by_city,
    orders_by_status,
    precipitation_by_city,
    revenue_by_category,
    revenue_by_city,
    sales_trend,
    stock_prices,
    temperature_by_city,
    top_products,
)
from python_scripts.report.health_figures import durations, freshness, freshness_table, rows_per_part, run_timeline


@dataclass(frozen=True)
class ChartSpec:
    title: str
    dataset: str
    build: Callable[[Rows], go.Figure | None]
    wide: bool = False


@dataclass(frozen=True)
class PageSpec:
    slug: str
    title: str
    charts: tuple[ChartSpec, ...]

    @property
    def datasets(self) -> Iterable[str]:
        return (chart.dataset for chart in self.charts)


PAGES = (
    PageSpec(
        "sales",
        "Sales",
        (
            ChartSpec("Daily revenue and units", "sales_daily", sales_trend, wide=True),
            ChartSpec("Revenue by product category", "sales_by_category", revenue_by_category),
            ChartSpec("Revenue by customer city (top 15)", "sales_by_city", revenue_by_city),
        ),
    ),
    PageSpec("products", "Products", (ChartSpec("Top 10 products by revenue", "top_products", top_products, True),)),
    PageSpec(
        "customers",
        "Customers",
        (
            ChartSpec("Carts and revenue per customer (size: active days)", "customers", customer_activity),
            ChartSpec("Revenue and customers by city", "customers_by_city", customers_by_city),
        ),
    ),
    PageSpec(
        "weather",
        "Weather",
        (
            ChartSpec("Daily temperature per city", "weather", temperature_by_city),
            ChartSpec("Daily precipitation per city", "weather", precipitation_by_city),
        ),
    ),
    PageSpec(
        "stocks", "Stocks", (ChartSpec("Close price and moving averages per ticker", "stocks", stock_prices, True),)
    ),
    PageSpec(
        "orders",
        "Orders",
        (
            ChartSpec("Current orders by status", "order_status", orders_by_status),
            ChartSpec("Order amount by status and currency", "order_status", amount_by_status),
        ),
    ),
    PageSpec(
        "pipeline",
        "Pipeline health",
        (
            ChartSpec("Ingestion attempts per source entity", "pipeline_runs", run_timeline, wide=True),
            ChartSpec("Rows loaded and rejected", "freshness", rows_per_part),
            ChartSpec("Attempt durations", "pipeline_runs", durations),
            ChartSpec("Freshness: time since the last successful load", "freshness", freshness),
            ChartSpec("Last loads", "freshness", freshness_table),
        ),
    ),
)
