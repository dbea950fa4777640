"""Task defaults shared by every DAG of the platform."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from elt_dags.alerts import failure_notifiers
from python_scripts.settings import get_settings

OWNER = "data-platform"


def default_args() -> dict[str, Any]:
    """Every DAG's task defaults: retries with backoff, and the failure alerts when a channel is configured.

    The alerts are task-level, so each names the task that failed; the Cosmos group's own default_args
    ({"retries": 1}) are merged over these, so dbt and freshness tasks alert too.
    """
    notifiers = failure_notifiers()
    return {
        "owner": OWNER,
        "retries": 2,
        "retry_exponential_backoff": True,
        "retry_delay": timedelta(seconds=get_settings().task_retry_delay),
        **({"on_failure_callback": notifiers} if notifiers else {}),
    }
