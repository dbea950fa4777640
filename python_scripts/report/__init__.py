"""The KPI dashboard: the marts as one self-contained HTML file of plotly charts, read with bi_reader's rights.

``python -m python_scripts.report [--out reports/kpi.html]`` (``make report``). :mod:`.data` queries the
marts, :mod:`.figures` turns rows into figures, :mod:`.html` lays the pages out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from python_scripts.report.data import connect_as_bi_reader, fetch_datasets
from python_scripts.report.html import render
from python_scripts.report.pages import PAGES
from python_scripts.settings import Settings


def build_report(settings: Settings, out: Path) -> Path:
    """Query the marts as bi_reader and write the report to ``out`` (folders created); return its path."""
    with connect_as_bi_reader(settings) as conn:
        data = fetch_datasets(conn)
    pg = settings.postgres
    document = render(
        PAGES, data, generated_at=datetime.now(UTC), warehouse=f"{settings.warehouse_db} on {pg.host}:{pg.port}"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(document, encoding="utf-8")
    return out
