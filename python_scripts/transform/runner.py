"""The dbt CLI of this virtualenv, run in a dbt project folder: the one way tests, benchmarks and tooling call
dbt outside Airflow (inside Airflow, Cosmos runs it)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from python_scripts.settings import PROJECT_ROOT

# dbt's CLI as a module of this interpreter: the same dbt wherever its console script was installed (a venv's bin,
# or the user site of the Airflow image, which is not beside sys.executable).
DBT = (sys.executable, "-m", "dbt.cli.main")


class DbtError(RuntimeError):
    """dbt exited non-zero; the message ends with the end of its output."""


def run_dbt(
    *args: str,
    env: Mapping[str, str],
    project_dir: Path | str = PROJECT_ROOT / "dbt_project",
    target_path: Path | str | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess:
    """``dbt <args>`` in ``project_dir`` with ``env`` (the settings' derived variables included, see
    ``python_scripts.settings.derived_environment``); raises DbtError unless it succeeds."""
    command = [*DBT, *args]
    if target_path is not None:
        command += ["--target-path", str(target_path)]
    result = subprocess.run(
        command, cwd=project_dir, env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise DbtError(f"dbt {' '.join(args)} failed with exit code {result.returncode}:\n{result.stdout[-4000:]}")
    return result
