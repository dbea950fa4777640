"""Build the triggerer's in-process Execution API when the triggerer starts, not on a trigger's first read.

Every read a trigger makes through the Task SDK (an XCom, another task's state) is served by the triggerer's
supervisor through an Execution API it runs in its own process. Airflow builds that API lazily: the app on the
first read, and its versioned routes (Cadwyn) on the first request, about 9 s of CPU on two cores. The first
deferred tasks after every triggerer start waited for it, behind whatever else the machine ran; the dbt
watcher's consumers, for one, ended seconds after their nodes and the build shared its cores with it.

This listener starts the build in a thread of its own as the triggerer's job is created, and the trigger
runner is forked only once it is done (a fork during the build could copy into the runner a lock held by a
thread the runner does not have): the triggerer runs its first triggers a few seconds later, and their reads are
served at once. The built app is handed to the supervisor (``in_process_api_server``, from which it makes its
API client on its first read) once it has served a request. A failed warm-up costs a log line: the first read
then builds the API as before. Written against Airflow 3.3.2.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from pathlib import Path
from typing import ClassVar

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin

log = logging.getLogger(__name__)

WAIT_AT_FORK = 60.0  # seconds: the longest the trigger runner's start waits for the build (about 9 s of CPU)


def is_triggerer() -> bool:
    """Whether this process is ``airflow triggerer`` (every component's jobs call the same listener)."""
    return Path(sys.argv[0]).name == "airflow" and sys.argv[1:2] == ["triggerer"]


def warm_in_process_api() -> None:
    """Build the in-process Execution API, serve one request through it, and publish it for the supervisor."""
    import httpx
    from airflow.api_fastapi.execution_api.app import InProcessExecutionAPI
    from airflow.jobs import triggerer_job_runner

    app = InProcessExecutionAPI().app

    async def first_request() -> int:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://warmup") as client:
            return (await client.get("/health")).status_code

    status = asyncio.run(first_request())
    if status != 200:
        raise RuntimeError(f"the in-process Execution API answered {status} to /health")
    triggerer_job_runner.in_process_api_server = lambda: InProcessExecutionAPI(app=app)
    log.info("The triggerer's in-process Execution API is built")


def _warm_quietly() -> None:
    try:
        warm_in_process_api()
    except Exception:  # a trigger's first read then builds the API itself, as Airflow does without this plugin
        log.warning("Could not build the triggerer's in-process Execution API ahead of time", exc_info=True)


class TriggererWarmup:
    """A lifecycle listener: on the triggerer's start, build its in-process API in the background."""

    @hookimpl
    def on_starting(self, component) -> None:
        if is_triggerer():
            warmup = threading.Thread(target=_warm_quietly, name="in-process-api-warmup", daemon=True)
            warmup.start()
            # The supervisor forks its trigger runner right after; a fork while the build imports or logs could
            # copy a lock into the child held by a thread it does not have. A build that hangs delays it no more
            # than WAIT_AT_FORK.
            os.register_at_fork(before=lambda: warmup.join(WAIT_AT_FORK))


class TriggererWarmupPlugin(AirflowPlugin):
    name = "triggerer_warmup"
    listeners: ClassVar[list] = [TriggererWarmup()]
