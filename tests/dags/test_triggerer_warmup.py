"""The triggerer's warm-up plugin (``airflow/plugins/triggerer_warmup.py``) on Airflow's own classes.

The supervisor's API client is made the way the triggerer makes it (``TriggerRunnerSupervisor.make_client``);
``tests/e2e/test_airflow_services.py`` checks that a real triggerer loads the plugin and builds the API at start.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest
from airflow.jobs import triggerer_job_runner
from airflow.jobs.triggerer_job_runner import TriggerRunnerSupervisor

from python_scripts.settings import PROJECT_ROOT


@pytest.fixture
def warmup(monkeypatch):
    """The plugin module, with Airflow's ``in_process_api_server`` restored after the test."""
    monkeypatch.setattr(triggerer_job_runner, "in_process_api_server", triggerer_job_runner.in_process_api_server)
    spec = importlib.util.spec_from_file_location(
        "triggerer_warmup", PROJECT_ROOT / "airflow" / "plugins" / "triggerer_warmup.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_after_the_warm_up_the_supervisor_s_client_serves_from_the_built_api(warmup):
    warmup.warm_in_process_api()
    # Without the warm-up every call builds a new app (and its routes on its first request).
    first, second = triggerer_job_runner.in_process_api_server(), triggerer_job_runner.in_process_api_server()
    assert first.app is second.app
    response = TriggerRunnerSupervisor.make_client(None).get("health")
    assert response.status_code == 200
    assert response.json() == {"status": "healthy"}


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["/venv/bin/airflow", "triggerer"], True),
        (["airflow", "triggerer", "--capacity", "100"], True),
        (["/venv/bin/airflow", "scheduler"], False),
        (["/venv/bin/airflow", "dag-processor"], False),
        (["-m", "pytest"], False),
    ],
)
def test_only_the_triggerer_process_warms_up(warmup, monkeypatch, argv, expected):
    monkeypatch.setattr(sys, "argv", argv)
    assert warmup.is_triggerer() is expected
