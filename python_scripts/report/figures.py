"""Rows to plotly figures, one pure function per chart; each returns ``None`` when it has no rows to show,
which the page renders as a "no data yet" panel rather than an empty or broken chart."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from python_scripts.report.data import RUNS_WINDOW_DAYS, Rows

ORDER_STATUSES = ("pending", "processing", "shipped", "delivered", "cancelled")
STATUS_COLORS = {"success": "#2ca02c", "failed": "#d62728", "running": "#ff7f0e"}
STAGE_SYMBOLS = {"extract": "circle", "load": "square"}
# One colour per moving-average window, the same in every ticker's panel.
PRICE_SERIES = (
    ("close_price", "close", "#1f77b4"),
    ("moving_average_7d", "7-day average", "#ff7f0e"),
    ("moving_average_30d", "30-day average", "#2ca02c"),
    ("moving_average_90d", "90-day average", "#9467bd"),
)
HEIGHT = 420
DAY_MS = 86_400_000


def _layout(fig: go.Figure, height: int = HEIGHT, **layout) -> go.Figure:
    defaults = {"margin": {"l": 60, "r": 20, "t": 30, "b": 50}, "legend": {"orientation": "h", "y": -0.18}}
    fig.update_layout(template="plotly_white", height=height, **{**defaults, **layout})
    return fig


def _column(rows: Rows, name: str) -> list:
    return [row[name] for row in rows]


def _group(rows: Rows, key: str) -> dict[str, Rows]:
    """Rows by the value of ``key``, in first-seen order."""
    groups: dict[str, Rows] = defaultdict(list)
    for row in rows:
        groups[row[key]].append(row)
    return dict(groups)


def _short(text: str, width: int = 38) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def age(seconds: float) -> str:
    """A duration for people: 45 s, 12 min, 5.5 h, 3.2 d."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _daily_axis(days: list[date], title: str) -> dict:
    """A date axis ticking whole days (about ten ticks), never hours, however few days there are."""
    span = (max(days) - min(days)).days + 1
    return {"title": title, "type": "date", "tickformat": "%b %d", "dtick": DAY_MS * -(-span // 10)}


def sales_trend(rows: Rows) -> go.Figure | None:
    if not rows:
        return None
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=_column(rows, "cart_date"), y=_column(rows, "revenue"), name="revenue"))
    fig.add_trace(
        go.Scatter(x=_column(rows, "cart_date"), y=_column(rows, "units"), name="units", mode="lines+markers"),
        secondary_y=True,
    )
    fig.update_yaxes(title_text="revenue", secondary_y=False, rangemode="tozero")
    fig.update_yaxes(title_text="units", secondary_y=True, showgrid=False, rangemode="tozero", tickmode="auto")
    return _layout(fig, xaxis=_daily_axis(_column(rows, "cart_date"), "cart date"))


def _horizontal_bars(rows: Rows, label: str, value: str, title: str) -> go.Figure | None:
    """Bars sorted so that the largest is on top."""
    if not rows:
        return None
    fig = go.Figure(go.Bar(x=_column(rows, value), y=_column(rows, label), orientation="h", name=value))
    fig.update_yaxes(categoryorder="total ascending")
    return _layout(fig, xaxis_title=title, showlegend=False)


def revenue_by_category(rows: Rows) -> go.Figure | None:
    return _horizontal_bars(rows, "category", "revenue", "revenue")


def revenue_by_city(rows: Rows) -> go.Figure | None:
    return _horizontal_bars(rows, "city", "revenue", "revenue")


def top_products(rows: Rows) -> go.Figure | None:
    if not rows:
        return None
    fig = go.Figure()
    for category, products in _group(rows, "category").items():
        fig.add_trace(
            go.Bar(
                x=_column(products, "revenue"),
                y=[f"#{p['revenue_rank']} {_short(p['title'])}" for p in products],
                customdata=_column(products, "units_sold"),
                hovertemplate="%{y}<br>revenue %{x:,.2f}<br>units %{customdata}<extra></extra>",
                orientation="h",
                name=category,
            )
        )
    fig.update_yaxes(categoryorder="total ascending")
    return _layout(fig, height=460, xaxis_title="revenue", margin={"l": 260, "r": 20, "t": 30, "b": 50})


def customer_activity(rows: Rows) -> go.Figure | None:
    if not rows:
        return None
    fig = go.Figure(
        go.Scatter(
            x=_column(rows, "carts"),
            y=_column(rows, "revenue"),
            mode="markers",
            marker={"size": [8 + 3 * row["days_active"] for row in rows], "sizemode": "diameter", "opacity": 0.7},
            customdata=[[row["customer_id"], row["city"], row["days_active"]] for row in rows],
            hovertemplate=(
                "customer %{customdata[0]} (%{customdata[1]})<br>%{x} carts, revenue %{y:,.2f}"
                "<br>%{customdata[2]} active days<extra></extra>"
            ),
            name="customers",
        )
    )
    return _layout(fig, xaxis_title="carts", yaxis_title="revenue", showlegend=False)


def customers_by_city(rows: Rows) -> go.Figure | None:
    if not rows:
        return None
    fig = go.Figure(
        go.Bar(
            x=_column(rows, "city"),
            y=_column(rows, "revenue"),
            text=[f"{row['customers']} customers" for row in rows],
            textposition="auto",
            name="revenue",
        )
    )
    return _layout(fig, yaxis_title="revenue", showlegend=False)


def temperature_by_city(rows: Rows) -> go.Figure | None:
    if not rows:
        return None
    fig = go.Figure()
    for city, days in _group(rows, "city").items():
        fig.add_trace(
            go.Scatter(
                x=_column(days, "observation_date"),
                y=_column(days, "temperature_mean_c"),
                error_y={
                    "type": "data",
                    "array": [d["temperature_max_c"] - d["temperature_mean_c"] for d in days],
                    "arrayminus": [d["temperature_mean_c"] - d["temperature_min_c"] for d in days],
                },
                mode="lines+markers",
                name=city,
            )
        )
    axis = _daily_axis(_column(rows, "observation_date"), "local date")
    return _layout(fig, xaxis=axis, yaxis_title="°C (mean, bars: min to max)")


def precipitation_by_city(rows: Rows) -> go.Figure | None:
    if not rows:
        return None
    fig = go.Figure(
        [
            go.Bar(x=_column(days, "observation_date"), y=_column(days, "precipitation_mm"), name=city)
            for city, days in _group(rows, "city").items()
        ]
    )
    axis = _daily_axis(_column(rows, "observation_date"), "local date")
    return _layout(fig, barmode="group", xaxis=axis, yaxis_title="precipitation, mm")


def stock_prices(rows: Rows) -> go.Figure | None:
    """One panel per ticker (prices differ by orders of magnitude), the same legend for all."""
    if not rows:
        return None
    tickers = _group(rows, "ticker")
    fig = make_subplots(
        rows=len(tickers), cols=1, shared_xaxes=True, subplot_titles=list(tickers), vertical_spacing=0.2 / len(tickers)
    )
    for index, days in enumerate(tickers.values(), start=1):
        for column, label, color in PRICE_SERIES:
            values = _column(days, column)
            if all(value is None for value in values):
                continue  # a window longer than the history
            fig.add_trace(
                go.Scatter(
                    x=_column(days, "trade_date"),
                    y=values,
                    mode="lines",
                    name=label,
                    line={"color": color, "width": 2 if column == "close_price" else 1.3},
                    legendgroup=column,
                    showlegend=index == 1,
                ),
                row=index,
                col=1,
            )
    return _layout(fig, height=120 + 220 * len(tickers), legend={"orientation": "h", "y": 1 + 0.25 / len(tickers)})


def orders_by_status(rows: Rows) -> go.Figure | None:
    if not rows:
        return None
    fig = go.Figure()
    for currency, statuses in _group(rows, "currency").items():
        fig.add_trace(go.Bar(x=_column(statuses, "status"), y=_column(statuses, "orders"), name=currency))
    fig.update_xaxes(categoryorder="array", categoryarray=ORDER_STATUSES)
    return _layout(fig, barmode="stack", yaxis_title="current orders")


def amount_by_status(rows: Rows) -> go.Figure | None:
    """Amounts side by side per currency: they are never added across currencies."""
    if not rows:
        return None
    fig = go.Figure(
        [
            go.Bar(x=_column(statuses, "status"), y=_column(statuses, "total_amount"), name=currency)
            for currency, statuses in _group(rows, "currency").items()
        ]
    )
    fig.update_xaxes(categoryorder="array", categoryarray=ORDER_STATUSES)
    return _layout(fig, barmode="group", yaxis_title="total amount, in its currency")


def run_timeline(rows: Rows) -> go.Figure | None:
    if not rows:
        return None
    fig = go.Figure()
    for status, runs in _group(rows, "status").items():
        fig.add_trace(
            go.Scatter(
                x=_column(runs, "started_at"),
                y=_column(runs, "part"),
                mode="markers",
                name=status,
                marker={
                    "color": STATUS_COLORS.get(status),
                    "symbol": [STAGE_SYMBOLS.get(run["stage"], "diamond") for run in runs],
                    "size": 10,
                    "opacity": 0.8,
                },
                customdata=[
                    [run["stage"], run["batch_id"], run["duration_s"], run["loaded_count"], run["error"] or ""]
                    for run in runs
                ],
                hovertemplate=(
                    "%{y} %{customdata[0]} " + status + "<br>batch %{customdata[1]}<br>started %{x}"
                    "<br>%{customdata[2]:.1f} s, loaded %{customdata[3]}<br>%{customdata[4]}<extra></extra>"
                ),
            )
        )
    fig.update_yaxes(categoryorder="category descending")
    return _layout(fig, xaxis_title=f"attempt start (circle: extract, square: load; last {RUNS_WINDOW_DAYS} days)")


def rows_per_part(rows: Rows) -> go.Figure | None:
    if not rows:
        return None
    parts = _column(rows, "part")
    fig = go.Figure(
        [
            go.Bar(
                x=_column(rows, column),
                y=parts,
                orientation="h",
                name=label,
                text=_column(rows, column),
                textposition="outside",
                cliponaxis=False,
            )
            for column, label in (("rows_loaded_total", "loaded"), ("rows_rejected_total", "rejected"))
        ]
    )
    fig.update_yaxes(categoryorder="category descending")
    return _layout(fig, barmode="group", xaxis_title="rows (each batch counted once)")


def durations(rows: Rows) -> go.Figure | None:
    finished = [row for row in rows if row["duration_s"] is not None]
    if not finished:
        return None
    fig = go.Figure(
        [
            go.Box(
                x=_column(runs, "duration_s"),
                y=_column(runs, "part"),
                orientation="h",
                name=stage,
                boxpoints="all",
                jitter=0.4,
            )
            for stage, runs in _group(finished, "stage").items()
        ]
    )
    fig.update_yaxes(categoryorder="category descending")
    return _layout(fig, boxmode="group", xaxis_title="seconds per attempt")


def freshness(rows: Rows) -> go.Figure | None:
    if not rows:
        return None
    seconds = _column(rows, "seconds_since_last_success")
    fig = go.Figure(
        go.Bar(
            x=seconds,
            y=_column(rows, "part"),
            orientation="h",
            text=[age(value) for value in seconds],
            textposition="auto",
            marker={"color": ["#d62728" if row["failed_attempts_24h"] else "#1f77b4" for row in rows]},
            customdata=[[str(row["last_success_at"]), str(row["last_interval_end"])] for row in rows],
            hovertemplate="%{y}<br>last success %{customdata[0]}<br>interval end %{customdata[1]}<extra></extra>",
        )
    )
    fig.update_yaxes(categoryorder="category descending")
    return _layout(fig, xaxis_title="seconds since the last successful load (red: failures in the last 24 h)")


# (column, header, relative width)
FRESHNESS_COLUMNS = (
    ("part", "source.entity", 2.6),
    ("last_success_at", "last success (UTC)", 1.6),
    ("last_interval_end", "last interval end (UTC)", 1.6),
    ("last_batch_loaded", "last batch loaded", 1),
    ("last_batch_rejected", "last batch rejected", 1),
    ("failed_attempts_24h", "failed attempts 24 h", 1),
)


def _cell(value) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else str(value)


def freshness_table(rows: Rows) -> go.Figure | None:
    if not rows:
        return None
    fig = go.Figure(
        go.Table(
            columnwidth=[width for _, _, width in FRESHNESS_COLUMNS],
            header={"values": [label for _, label, _ in FRESHNESS_COLUMNS], "align": "left", "fill_color": "#e8eef7"},
            cells={
                "values": [[_cell(row[column]) for row in rows] for column, _, _ in FRESHNESS_COLUMNS],
                "align": "left",
                "height": 28,
            },
        )
    )
    return _layout(fig, height=max(HEIGHT, 90 + 28 * len(rows)), margin={"l": 10, "r": 10, "t": 10, "b": 10})


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
