"""Cosmos' watcher, with consumers that start and end in the triggerer.

In ``ExecutionMode.WATCHER`` one producer task runs ``dbt build`` for the whole group and publishes each node's
status in XCom; every model, snapshot, source and test keeps a task of its own (its state in the grid, its log)
that watches that status. As Cosmos ships it, each of those tasks first starts a worker process (the DAG file
parsed again, dbt imported), pokes, then defers to the triggerer, and the tasks wait for one another along dbt's
dependencies: about 4 s per task on two cores, and the dependency chain of a group is 16 tasks long.

Here each consumer starts directly in the triggerer (Airflow's ``start_from_trigger``) with
``NodeStatusTrigger``, which ends the task there when its node succeeded or was skipped: no worker process for
the common path. A failed node, or a producer that failed or was skipped, resumes the task on a worker in
Cosmos' own ``execute_complete``, which raises the node's error or runs the node itself (Cosmos' retry path).
The consumers do not wait for one another: dbt already builds the nodes in dependency order in the producer,
so each consumer depends only on the group's upstream tasks and ends when its node does.

The producer publishes less: Cosmos pushes an XCom for each of a node's four lifecycle events (start,
compiling, executing, finished) and its compiled SQL, each push a call to the API server while dbt's threads
wait on Cosmos' lock. Only the finished event and the status are read here (the compiled SQL only feeds the
rendered template of a consumer that runs on a worker), so ``publish_less`` drops the rest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from airflow.sdk import TaskGroup
from airflow.triggers.base import StartTriggerArgs, TaskSkippedEvent, TaskSuccessEvent, TriggerEvent
from cosmos.listeners.dag_run_listener import EventStatus
from cosmos.operators._watcher import base as watcher_base
from cosmos.operators._watcher.aggregation import get_tests_status_xcom_key
from cosmos.operators._watcher.base import BaseConsumerSensor
from cosmos.operators._watcher.state import (
    PRODUCER_FINAL_STATES,
    get_dbt_event_xcom_key,
    is_dbt_node_status_terminal,
)
from cosmos.operators._watcher.triggerer import WatcherTrigger

log = logging.getLogger(__name__)

# The first poll comes soon after the group starts; later ones back off to the longest interval, so that a
# long build is not polled by every consumer every second.
FIRST_POLL, LONGEST_POLL, BACKOFF = 0.5, 2.0, 1.5
PRODUCER_EVERY = 4  # polls of the node's status between two looks at the producer's state


class NodeStatusTrigger(WatcherTrigger):
    """Wait for one dbt node's status from the watcher's producer; end the task in the triggerer when it
    succeeded (``TaskSuccessEvent``) or was skipped, and hand anything else to the task on a worker."""

    def serialize(self) -> tuple[str, dict[str, Any]]:
        _, kwargs = super().serialize()
        return f"{__name__}.{type(self).__name__}", kwargs

    async def get_xcom_val(self, key: str) -> Any | None:
        # Cosmos logs a line per XCom read; a poll every second would fill the task's log with them.
        return await self.get_xcom_val_af3(key)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        ti = self.task_instance  # started from the trigger, the task's run is only known here
        self.dag_id, self.run_id = ti.dag_id, ti.run_id
        self.map_index = None if ti.map_index is None or ti.map_index < 0 else ti.map_index
        status, wait, polls = await self._status(), FIRST_POLL, 0
        while not is_dbt_node_status_terminal(status):
            polls += 1
            if polls % PRODUCER_EVERY == 0 and await self._get_producer_task_status() in PRODUCER_FINAL_STATES:
                break
            await asyncio.sleep(wait)
            wait = min(wait * BACKOFF, LONGEST_POLL)
            status = await self._status()
        # Cosmos' own loop decides from here, on the status and the producer's state, as for any consumer.
        async for event in super().run():
            yield await self._ended(event)

    async def _status(self) -> str | None:
        if self.is_test_sensor:
            return await self.get_xcom_val(get_tests_status_xcom_key(self.model_unique_id))
        return await self._get_node_status()

    async def _ended(self, event: TriggerEvent) -> TriggerEvent:
        status = event.payload.get("status")
        if status == EventStatus.SKIPPED:
            log.info("dbt skipped %s (an upstream node failed or a source is stale)", self.model_unique_id)
            return TaskSkippedEvent()
        if status != EventStatus.SUCCESS:
            return event  # resumes on a worker: Cosmos raises the node's error or runs it itself
        if self.is_test_sensor:
            log.info("%s: its tests passed in the producer's dbt build", self.model_unique_id)
        else:
            dbt_event = await self.get_xcom_val(get_dbt_event_xcom_key(self.model_unique_id)) or {}
            log.info(
                "%s: %s in the producer's dbt build (%s), %s to %s",
                self.model_unique_id,
                dbt_event.get("status", "success"),
                dbt_event.get("msg", "no message"),
                dbt_event.get("start_time", "?"),
                dbt_event.get("finish_time", "?"),
            )
        return TaskSuccessEvent()


UNREAD_EVENTS = frozenset({"NodeStart", "NodeCompiling", "NodeExecuting"})


def publish_less() -> None:
    """Make the watcher's producer push a node's finished event and status only (see the module's doc)."""
    if getattr(watcher_base, "publishes_less", False):
        return
    process_event = watcher_base._process_dbt_log_event

    def finished_events_only(task_instance: Any, dbt_log: dict[str, Any]) -> None:
        if dbt_log.get("info", {}).get("name") not in UNREAD_EVENTS:
            process_event(task_instance, dbt_log)

    watcher_base._process_dbt_log_event = finished_events_only
    watcher_base.store_compiled_sql_for_model = lambda *args, **kwargs: None
    watcher_base.publishes_less = True


def watch_from_triggerer(group: TaskGroup) -> None:
    """Make every consumer of a watcher group start in the triggerer and wait for no other consumer, and its
    producer publish only what they read."""
    publish_less()
    consumers = [task for task in group.iter_tasks() if isinstance(task, BaseConsumerSensor)]
    ids = {task.task_id for task in consumers}
    for task in consumers:
        for upstream in [task_id for task_id in task.upstream_task_ids if task_id in ids]:
            task.dag.get_task(upstream).downstream_task_ids.discard(task.task_id)
            task.upstream_task_ids.discard(upstream)
        task.start_from_trigger = True
        task.start_trigger_args = StartTriggerArgs(
            trigger_cls=f"{__name__}.{NodeStatusTrigger.__name__}",
            trigger_kwargs={
                "model_unique_id": task.model_unique_id,
                "producer_task_id": task.producer_task_id,
                # the run is read from the task instance in the triggerer
                "dag_id": task.dag_id,
                "run_id": "",
                "map_index": None,
                "poke_interval": LONGEST_POLL,
                "is_test_sensor": task.is_test_sensor,
            },
            next_method="execute_complete",
            next_kwargs=None,
            timeout=None,
        )
