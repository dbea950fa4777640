"""The benchmarks: the dbt part's targets from the figures of its sizes (benchmarks/dbt_incremental.py), and the
folders of one run's parts."""

import shutil

from benchmarks.cosmos import cosmos_environment
from benchmarks.dbt_incremental import targets
from benchmarks.run import part_dir


def dbt_size(carts: int, full_refresh: float, incremental: float) -> dict:
    return {
        "carts": carts,
        "full_refresh": {"seconds": full_refresh},
        "incremental": {"seconds": incremental},
        "ratio": incremental / full_refresh,
        "identical": True,
    }


def test_the_full_refresh_growth_is_judged_between_the_two_largest_sizes_ten_times_apart():
    rows = targets([dbt_size(1_000_000, 25.0, 2.5), dbt_size(10_000_000, 290.0, 29.0)])
    growth = next(row for row in rows if "full refresh 1,000,000 -> 10,000,000" in row["target"])
    assert growth["measured"].endswith("11.6 x")
    assert growth["met"]
    slower = targets([dbt_size(1_000_000, 25.0, 2.5), dbt_size(10_000_000, 310.0, 29.0)])
    assert not next(row for row in slower if "full refresh" in row["target"] and "->" in row["target"])["met"]


def test_one_size_judges_the_incremental_run_only():
    (row,) = targets([dbt_size(10_000, 1.0, 0.2)])
    assert "incremental <= 15%" in row["target"]
    assert not row["met"]


def test_the_cosmos_and_scale_parts_of_one_run_copy_the_dbt_project_into_folders_of_their_own(tmp_path):
    """Both parts copy the project to ``<work dir>/dbt_project`` (``cosmos.copy_project``); a full run once failed
    there because they shared the run's folder."""
    (tmp_path / "dbt_project").mkdir()
    parts = ("cosmos", "scale")
    copies = [cosmos_environment({}, "bench_airflow", part_dir(tmp_path, part))["DBT_PROJECT_DIR"] for part in parts]
    assert len(set(copies)) == len(parts)
    for copy in copies:
        shutil.copytree(tmp_path / "dbt_project", copy)
