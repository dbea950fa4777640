"""Figures from the raw measurements: rates, the printed tables, the targets of the issue and the chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.tasks import LOAD_CONTENDERS
from python_scripts.ops.summary import format_table

REFERENCE = "raw COPY"
PROJECT = "project loader"
REPLAY = "lake replay"
SLOWEST = "to_sql multi"


def add_rates(size: dict[str, Any]) -> None:
    """Add rows/s, MB/s (of landed JSON) and the ratio to raw COPY to each measurement of one size."""
    loads = size.get("load", {})
    for measured in loads.values():
        measured["rows_per_s"] = size["records"] / measured["seconds"]
        measured["mb_per_s"] = size["payload_mb"] / measured["seconds"]
    for measured in loads.values():
        measured["vs_raw_copy"] = measured["rows_per_s"] / loads[REFERENCE]["rows_per_s"]
    if "extract" in size:
        extract, validate = size["extract"], size["validate"]
        extract["records_per_s"] = extract["records"] / extract["seconds"]
        validate["records_per_s"] = validate["records"] / validate["seconds"]
        validate["share_of_extract"] = validate["seconds"] / extract["seconds"]
        validate["jsonschema_per_s"] = validate["jsonschema_sample"] / validate["jsonschema_seconds"]


def load_table(sizes: list[dict[str, Any]]) -> str:
    rows = [
        (
            f"{size['carts']:,}",
            name,
            f"{m['seconds']:.2f}",
            f"{m['rows_per_s']:,.0f}",
            f"{m['mb_per_s']:.1f}",
            f"{m['vs_raw_copy']:.2f}",
            f"{m.get('cpu_seconds', 0):.2f}",
            f"{m['peak_rss_mb']:.0f}",
        )
        for size in sizes
        if "load" in size
        for name, m in size["load"].items()
    ]
    headers = ["carts", "bronze load", "seconds", "rows/s", "MB/s", "x raw COPY", "client CPU s", "peak RSS MB"]
    return format_table(headers, rows)


def extraction_table(sizes: list[dict[str, Any]]) -> str:
    rows = [
        (
            f"{size['carts']:,}",
            f"{size['extract']['seconds']:.2f}",
            f"{size['extract']['records_per_s']:,.0f}",
            f"{size['extract']['cpu_seconds']:.2f}",
            f"{size['validate']['seconds']:.2f}",
            f"{size['validate']['share_of_extract']:.0%}",
            f"{size['validate']['records_per_s']:,.0f}",
            f"{size['validate']['jsonschema_per_s']:,.0f}",
            f"{size['extract']['peak_rss_mb']:.0f}",
        )
        for size in sizes
        if "extract" in size
    ]
    headers = [
        "carts",
        "extract s",
        "records/s",
        "client CPU s",
        "validation s",
        "share",
        "validated/s",
        "jsonschema alone/s",
        "peak RSS MB",
    ]
    return format_table(headers, rows)


def targets(sizes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets, judged at the largest size measured (they are stated for 10^6 carts)."""
    found = []
    loaded = [size for size in sizes if "load" in size]
    if loaded:
        top = loaded[-1]["load"]
        found.append(
            _target(f"loader >= 0.85 x raw COPY at {loaded[-1]['carts']:,}", top[PROJECT]["vs_raw_copy"], 0.85)
        )
        found.append(
            _target(
                f"loader >= 10 x to_sql multi at {loaded[-1]['carts']:,}",
                top[PROJECT]["rows_per_s"] / top[SLOWEST]["rows_per_s"],
                10,
            )
        )
        if REPLAY in top:
            replay = top[REPLAY]["seconds"] / top[PROJECT]["seconds"]
            found.append(
                {
                    "target": f"replay from the lake <= 1.2 x the loader's time at {loaded[-1]['carts']:,}",
                    "measured": f"{replay:.2f}",
                    "met": replay <= 1.2,
                }
            )
        if len(loaded) > 1:
            first, last = loaded[0]["load"][PROJECT]["peak_rss_mb"], loaded[-1]["load"][PROJECT]["peak_rss_mb"]
            found.append(
                {
                    "target": f"loader peak RSS within 20% from {loaded[0]['carts']:,} to {loaded[-1]['carts']:,}",
                    "measured": f"{first:.0f} -> {last:.0f} MB ({last / first - 1:+.0%})",
                    "met": last <= first * 1.2,
                }
            )
    extracted = [size for size in sizes if "extract" in size]
    if extracted:
        rate = extracted[-1]["extract"]["records_per_s"]
        found.append(_target(f"extraction >= 50,000 records/s at {extracted[-1]['carts']:,}", rate, 50_000))
    return found


def _target(label: str, value: float, minimum: float) -> dict[str, Any]:
    shown = f"{value:,.0f}" if minimum >= 1000 else f"{value:.2f}"
    return {"target": label, "measured": shown, "met": value >= minimum}


def targets_table(found: list[dict[str, Any]]) -> str:
    return format_table(
        ["target", "measured", "met"], [(t["target"], t["measured"], "yes" if t["met"] else "NO") for t in found]
    )


def chart(results: dict[str, Any], path: Path) -> None:
    """Throughput and peak memory against the number of carts, one line per contender (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = results["sizes"]
    loaded = [size for size in sizes if "load" in size]
    extracted = [size for size in sizes if "extract" in size]
    fig, (speed, memory) = plt.subplots(1, 2, figsize=(12, 4.6))
    for name in LOAD_CONTENDERS:
        if loaded:
            carts = [size["carts"] for size in loaded]
            speed.plot(carts, [size["load"][name]["rows_per_s"] for size in loaded], marker="o", label=f"load: {name}")
    if loaded:
        carts = [size["carts"] for size in loaded]
        memory.plot(carts, [size["load"][PROJECT]["peak_rss_mb"] for size in loaded], marker="o", label=PROJECT)
    if extracted:
        carts = [size["carts"] for size in extracted]
        rates = [size["extract"]["records_per_s"] for size in extracted]
        speed.plot(carts, rates, marker="s", linestyle="--", color="black", label="extract + validate + land")
        memory.plot(carts, [size["extract"]["peak_rss_mb"] for size in extracted], marker="s", label="extraction")
    speed.set(xscale="log", yscale="log", xlabel="carts", ylabel="records per second", title="Throughput")
    memory.set(xscale="log", xlabel="carts", ylabel="peak RSS (MB)", title="Peak memory of the process", ylim=(0, None))
    for axes in (speed, memory):
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize="small")
    machine = results["machine"]
    fig.suptitle(
        f"{machine['cpu']}, {machine['cores']} cores, PostgreSQL {machine['postgresql']}, "
        f"load average {results['load_average']['start']:.2f} -> {results['load_average']['end']:.2f}",
        fontsize="medium",
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
