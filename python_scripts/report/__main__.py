"""Command line: ``python -m python_scripts.report [--out reports/kpi.html]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from python_scripts.report import build_report
from python_scripts.settings import load_or_exit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the KPI dashboard of the marts as one HTML file.")
    parser.add_argument("--out", type=Path, default=Path("reports/kpi.html"), help="output file (%(default)s)")
    args = parser.parse_args(argv)
    path = build_report(load_or_exit(), args.out)
    print(f"KPI dashboard written to {path.resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
