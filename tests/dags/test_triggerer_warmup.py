"""The triggerer's warm-up plugin (``airflow/plugins/triggerer_warmup.py``) on Airflow's own classes.

The supervisor's API client is made the way the triggerer makes it (``TriggerRunnerSupervisor.make_client``);
``tests/e2e/test_airflow_services.py`` checks that a real triggerer loads the plugin and builds the API at start.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from airflow.jobs import triggerer_job_runner
from airflow.jobs.triggerer_job_runner import TriggerRunnerSupervisor

from python_scripts.settings import PROJECT_ROOT

PLUGIN = PROJECT_ROOT / "airflow" / "plugins" / "triggerer_warmup.py"


@pytest.fixture
def warmup(monkeypatch):
    """The plugin module, with Airflow's ``in_process_api_server`` restored after the test."""
    monkeypatch.setattr(triggerer_job_runner, "in_process_api_server", triggerer_job_runner.in_process_api_server)
    spec = importlib.util.spec_from_file_location("triggerer_warmup", PLUGIN)
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


def test_the_trigger_runner_is_forked_only_after_the_warm_up(tmp_path):
    """The triggerer forks its trigger runner as it starts; the fork must wait for the warm-up's thread. Run in a
    process of its own, with a slow stand-in for the build, since the check forks."""
    script = tmp_path / "fork.py"
    script.write_text(
        f"""
import importlib.util, os, sys, time
sys.argv = ["airflow", "triggerer"]
spec = importlib.util.spec_from_file_location("warmup", {str(PLUGIN)!r})
warmup = importlib.util.module_from_spec(spec)
spec.loader.exec_module(warmup)
built = []
warmup.warm_in_process_api = lambda: (time.sleep(0.5), built.append(True))
warmup.TriggererWarmup().on_starting(component=None)
pid = os.fork()
if pid == 0:
    os._exit(0 if built else 3)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
