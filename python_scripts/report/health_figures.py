"""The pipeline-health charts: ingestion attempts, rows, durations and freshness (see ``figures``)."""

from __future__ import annotations

from datetime import UTC, datetime

import plotly.graph_objects as go

from python_scripts.report.data import RUNS_WINDOW_DAYS, Rows
from python_scripts.report.figures import HEIGHT, age, apply_layout, column_values, group_rows

STATUS_COLORS = {"success": "#2ca02c", "failed": "#d62728", "running": "#ff7f0e"}
STAGE_SYMBOLS = {"extract": "circle", "load": "square"}


def run_timeline(rows: Rows) -> go.Figure | None:
    if not rows:
        return None
    fig = go.Figure()
    for status, runs in group_rows(rows, "status").items():
        fig.add_trace(
            go.Scatter(
                x=column_values(runs, "started_at"),
                y=column_values(runs, "part"),
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
    return apply_layout(fig, xaxis_title=f"attempt start (circle: extract, square: load; last {RUNS_WINDOW_DAYS} days)")


def rows_per_part(rows: Rows) -> go.Figure | None:
    if not rows:
        return None
    parts = column_values(rows, "part")
    fig = go.Figure(
        [
            go.Bar(
                x=column_values(rows, column),
                y=parts,
                orientation="h",
                name=label,
                text=column_values(rows, column),
                textposition="outside",
                cliponaxis=False,
            )
            for column, label in (("rows_loaded_total", "loaded"), ("rows_rejected_total", "rejected"))
        ]
    )
    fig.update_yaxes(categoryorder="category descending")
    return apply_layout(fig, barmode="group", xaxis_title="rows (each batch counted once)")


def durations(rows: Rows) -> go.Figure | None:
    finished = [row for row in rows if row["duration_s"] is not None]
    if not finished:
        return None
    fig = go.Figure(
        [
            go.Box(
                x=column_values(runs, "duration_s"),
                y=column_values(runs, "part"),
                orientation="h",
                name=stage,
                boxpoints="all",
                jitter=0.4,
            )
            for stage, runs in group_rows(finished, "stage").items()
        ]
    )
    fig.update_yaxes(categoryorder="category descending")
    return apply_layout(fig, boxmode="group", xaxis_title="seconds per attempt")


def freshness(rows: Rows) -> go.Figure | None:
    if not rows:
        return None
    seconds = column_values(rows, "seconds_since_last_success")
    fig = go.Figure(
        go.Bar(
            x=seconds,
            y=column_values(rows, "part"),
            orientation="h",
            text=[age(value) for value in seconds],
            textposition="auto",
            marker={"color": ["#d62728" if row["failed_attempts_24h"] else "#1f77b4" for row in rows]},
            customdata=[[str(row["last_success_at"]), str(row["last_interval_end"])] for row in rows],
            hovertemplate="%{y}<br>last success %{customdata[0]}<br>interval end %{customdata[1]}<extra></extra>",
        )
    )
    fig.update_yaxes(categoryorder="category descending")
    return apply_layout(fig, xaxis_title="seconds since the last successful load (red: failures in the last 24 h)")


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
    return apply_layout(fig, height=max(HEIGHT, 90 + 28 * len(rows)), margin={"l": 10, "r": 10, "t": 10, "b": 10})
