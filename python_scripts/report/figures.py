"""Rows to plotly figures, one pure function per chart of the business pages (the pipeline-health ones are in
``health_figures``); each returns ``None`` when it has no rows to show, which the page renders as a "no data
yet" panel rather than an empty or broken chart."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from python_scripts.report.data import Rows

ORDER_STATUSES = ("pending", "processing", "shipped", "delivered", "cancelled")
# One colour per moving-average window, the same in every ticker's panel.
PRICE_SERIES = (
    ("close_price", "close", "#1f77b4"),
    ("moving_average_7d", "7-day average", "#ff7f0e"),
    ("moving_average_30d", "30-day average", "#2ca02c"),
    ("moving_average_90d", "90-day average", "#9467bd"),
)
HEIGHT = 420
DAY_MS = 86_400_000


def apply_layout(fig: go.Figure, height: int = HEIGHT, **layout) -> go.Figure:
    defaults = {"margin": {"l": 60, "r": 20, "t": 30, "b": 50}, "legend": {"orientation": "h", "y": -0.18}}
    fig.update_layout(template="plotly_white", height=height, **{**defaults, **layout})
    return fig


def column_values(rows: Rows, name: str) -> list:
    return [row[name] for row in rows]


def group_rows(rows: Rows, key: str) -> dict[str, Rows]:
    """Rows by the value of ``key``, in first-seen order."""
    groups: dict[str, Rows] = defaultdict(list)
    for row in rows:
        groups[row[key]].append(row)
    return dict(groups)


def shorten(text: str, width: int = 38) -> str:
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


def daily_axis(days: list[date], title: str) -> dict:
    """A date axis ticking whole days (about ten ticks), never hours, however few days there are."""
    span = (max(days) - min(days)).days + 1
    return {"title": title, "type": "date", "tickformat": "%b %d", "dtick": DAY_MS * -(-span // 10)}


def sales_trend(rows: Rows) -> go.Figure | None:
    if not rows:
        return None
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=column_values(rows, "cart_date"), y=column_values(rows, "revenue"), name="revenue"))
    fig.add_trace(
        go.Scatter(
            x=column_values(rows, "cart_date"), y=column_values(rows, "units"), name="units", mode="lines+markers"
        ),
        secondary_y=True,
    )
    fig.update_yaxes(title_text="revenue", secondary_y=False, rangemode="tozero")
    fig.update_yaxes(title_text="units", secondary_y=True, showgrid=False, rangemode="tozero", tickmode="auto")
    return apply_layout(fig, xaxis=daily_axis(column_values(rows, "cart_date"), "cart date"))


def _horizontal_bars(rows: Rows, label: str, value: str, title: str) -> go.Figure | None:
    """Bars sorted so that the largest is on top."""
    if not rows:
        return None
    fig = go.Figure(go.Bar(x=column_values(rows, value), y=column_values(rows, label), orientation="h", name=value))
    fig.update_yaxes(categoryorder="total ascending")
    return apply_layout(fig, xaxis_title=title, showlegend=False)


def revenue_by_category(rows: Rows) -> go.Figure | None:
    return _horizontal_bars(rows, "category", "revenue", "revenue")


def revenue_by_city(rows: Rows) -> go.Figure | None:
    return _horizontal_bars(rows, "city", "revenue", "revenue")


def top_products(rows: Rows) -> go.Figure | None:
    if not rows:
        return None
    fig = go.Figure()
    for category, products in group_rows(rows, "category").items():
        fig.add_trace(
            go.Bar(
                x=column_values(products, "revenue"),
                y=[f"#{p['revenue_rank']} {shorten(p['title'])}" for p in products],
                customdata=column_values(products, "units_sold"),
                hovertemplate="%{y}<br>revenue %{x:,.2f}<br>units %{customdata}<extra></extra>",
                orientation="h",
                name=category,
            )
        )
    fig.update_yaxes(categoryorder="total ascending")
    return apply_layout(fig, height=460, xaxis_title="revenue", margin={"l": 260, "r": 20, "t": 30, "b": 50})


def customer_activity(rows: Rows) -> go.Figure | None:
    if not rows:
        return None
    fig = go.Figure(
        go.Scatter(
            x=column_values(rows, "carts"),
            y=column_values(rows, "revenue"),
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
    return apply_layout(fig, xaxis_title="carts", yaxis_title="revenue", showlegend=False)


def customers_by_city(rows: Rows) -> go.Figure | None:
    if not rows:
        return None
    fig = go.Figure(
        go.Bar(
            x=column_values(rows, "city"),
            y=column_values(rows, "revenue"),
            text=[f"{row['customers']} customers" for row in rows],
            textposition="auto",
            name="revenue",
        )
    )
    return apply_layout(fig, yaxis_title="revenue", showlegend=False)


def temperature_by_city(rows: Rows) -> go.Figure | None:
    if not rows:
        return None
    fig = go.Figure()
    for city, days in group_rows(rows, "city").items():
        fig.add_trace(
            go.Scatter(
                x=column_values(days, "observation_date"),
                y=column_values(days, "temperature_mean_c"),
                error_y={
                    "type": "data",
                    "array": [d["temperature_max_c"] - d["temperature_mean_c"] for d in days],
                    "arrayminus": [d["temperature_mean_c"] - d["temperature_min_c"] for d in days],
                },
                mode="lines+markers",
                name=city,
            )
        )
    axis = daily_axis(column_values(rows, "observation_date"), "local date")
    return apply_layout(fig, xaxis=axis, yaxis_title="°C (mean, bars: min to max)")


def precipitation_by_city(rows: Rows) -> go.Figure | None:
    if not rows:
        return None
    fig = go.Figure(
        [
            go.Bar(x=column_values(days, "observation_date"), y=column_values(days, "precipitation_mm"), name=city)
            for city, days in group_rows(rows, "city").items()
        ]
    )
    axis = daily_axis(column_values(rows, "observation_date"), "local date")
    return apply_layout(fig, barmode="group", xaxis=axis, yaxis_title="precipitation, mm")


def stock_prices(rows: Rows) -> go.Figure | None:
    """One panel per ticker (prices differ by orders of magnitude), the same legend for all."""
    if not rows:
        return None
    tickers = group_rows(rows, "ticker")
    fig = make_subplots(
        rows=len(tickers), cols=1, shared_xaxes=True, subplot_titles=list(tickers), vertical_spacing=0.2 / len(tickers)
    )
    for index, days in enumerate(tickers.values(), start=1):
        for column, label, color in PRICE_SERIES:
            values = column_values(days, column)
            if all(value is None for value in values):
                continue  # a window longer than the history
            fig.add_trace(
                go.Scatter(
                    x=column_values(days, "trade_date"),
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
    return apply_layout(fig, height=120 + 220 * len(tickers), legend={"orientation": "h", "y": 1 + 0.25 / len(tickers)})


def orders_by_status(rows: Rows) -> go.Figure | None:
    if not rows:
        return None
    fig = go.Figure()
    for currency, statuses in group_rows(rows, "currency").items():
        fig.add_trace(go.Bar(x=column_values(statuses, "status"), y=column_values(statuses, "orders"), name=currency))
    fig.update_xaxes(categoryorder="array", categoryarray=ORDER_STATUSES)
    return apply_layout(fig, barmode="stack", yaxis_title="current orders")


def amount_by_status(rows: Rows) -> go.Figure | None:
    """Amounts side by side per currency: they are never added across currencies."""
    if not rows:
        return None
    fig = go.Figure(
        [
            go.Bar(x=column_values(statuses, "status"), y=column_values(statuses, "total_amount"), name=currency)
            for currency, statuses in group_rows(rows, "currency").items()
        ]
    )
    fig.update_xaxes(categoryorder="array", categoryarray=ORDER_STATUSES)
    return apply_layout(fig, barmode="group", yaxis_title="total amount, in its currency")
