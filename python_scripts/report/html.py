"""The report as one self-contained HTML file: plotly.js inline (it opens offline), one section per page,
switched by the URL fragment (``kpi.html#stocks``) so every page can be linked to."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from plotly.offline import get_plotlyjs

from python_scripts.report.data import DATASETS, Rows
from python_scripts.report.pages import ChartSpec, PageSpec

PLOT_CONFIG = {"displaylogo": False, "responsive": True}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #1d2733; background: #f4f6f9; }
header { background: #1d2733; color: #fff; padding: 14px 24px; display: flex; align-items: baseline; gap: 24px; }
header h1 { font-size: 20px; margin: 0; }
header p { margin: 0; color: #b8c2cc; font-size: 13px; }
nav { display: flex; gap: 4px; padding: 0 24px; background: #fff; border-bottom: 1px solid #d9dee5; }
nav a { padding: 12px 16px; color: #445; text-decoration: none; border-bottom: 3px solid transparent; }
nav a[aria-current="page"] { color: #0b5cad; border-bottom-color: #0b5cad; font-weight: 600; }
main { padding: 16px 24px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 16px; }
.card { background: #fff; border: 1px solid #d9dee5; border-radius: 6px; padding: 12px 16px; min-width: 0; }
.card.wide { grid-column: 1 / -1; }
.card h3 { margin: 0 0 8px; font-size: 15px; }
.no-data { padding: 48px 16px; text-align: center; color: #667; background: #f7f8fa; border-radius: 4px; }
"""

# Sections are all visible while the plots draw (so they get their real width), then all but the current one
# are hidden; a plot shown later is resized to its card, after which its section is marked data-ready.
SCRIPT = """
function showPage() {
  const pages = [...document.querySelectorAll("section.page")];
  const current = pages.find((p) => "#" + p.id === location.hash) || pages[0];
  for (const page of pages) page.hidden = page !== current;
  for (const link of document.querySelectorAll("nav a")) {
    if (link.hash === "#" + current.id) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  delete current.dataset.ready;
  const plots = [...current.querySelectorAll(".js-plotly-plot")];
  Promise.all(plots.map((plot) => Plotly.Plots.resize(plot))).then(() => { current.dataset.ready = "true"; });
}
window.addEventListener("hashchange", showPage);
showPage();
"""


def chart_html(chart: ChartSpec, rows: Rows, div_id: str) -> str:
    """A card with the chart, or with a "no data yet" panel naming the mart it reads."""
    figure = chart.build(rows)
    if figure is None:
        mart = DATASETS[chart.dataset].mart
        body = (
            f'<div class="no-data">No data yet: <code>marts.{escape(mart)}</code> is empty. '
            "Run the pipeline, then build the report again.</div>"
        )
    else:
        body = figure.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=div_id,
            config=PLOT_CONFIG,
            default_height=f"{figure.layout.height}px",
        )
    wide = " wide" if chart.wide else ""
    return f'<div class="card{wide}"><h3>{escape(chart.title)}</h3>{body}</div>'


def render(pages: Sequence[PageSpec], data: dict[str, Rows], *, generated_at: datetime, warehouse: str) -> str:
    """The whole document; ``data`` holds the rows of every dataset the pages use."""
    nav = "".join(f'<a href="#{page.slug}">{escape(page.title)}</a>' for page in pages)
    sections = "".join(
        f'<section class="page" id="{page.slug}"><div class="grid">'
        + "".join(
            chart_html(chart, data[chart.dataset], f"{page.slug}-{index}") for index, chart in enumerate(page.charts)
        )
        + "</div></section>"
        for page in pages
    )
    stamp = generated_at.strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>KPI dashboard</title><style>{STYLE}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head><body>'
        f"<header><h1>KPI dashboard</h1><p>marts of {escape(warehouse)}, read as bi_reader, at {stamp}</p></header>"
        f"<nav>{nav}</nav><main>{sections}</main><script>{SCRIPT}</script></body></html>"
    )
