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

Every read a trigger makes goes through the triggerer's supervisor, which serves them one at a time through
its in-process API server: with a few dozen triggers polling on two cores, reads queue and a task ends seconds
after its node. So the triggers of a run read little (``RunWatch``): the producer's state once per interval for
the whole run, and a node's status only once the nodes it depends on have ended (a node cannot end before
them), with a slow fallback only for upstream nodes that no trigger of this process watches (another triggerer
process does). A long build is polled along its frontier, not by every consumer every round.

The producer publishes less: Cosmos pushes an XCom for each of a node's four lifecycle events (start,
compiling, executing, finished) and its compiled SQL, each push a call to the API server made in the dbt
thread that ran the node. Only the finished event of a watched node and the statuses are read (a test counted
in its model's aggregated status has no reader, and the compiled SQL only feeds the rendered template of a
consumer that runs on a worker), so ``publish_less`` drops the rest: more than half of the pushes.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
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
    is_dbt_node_status_skipped,
    is_dbt_node_status_success,
    is_dbt_node_status_terminal,
)
from cosmos.operators._watcher.triggerer import WatcherTrigger

log = logging.getLogger(__name__)

# The first poll comes soon after the group starts; later ones back off to the longest interval.
FIRST_POLL, LONGEST_POLL, BACKOFF = 0.5, 1.0, 1.5
PRODUCER_EVERY = 2.0  # seconds between two reads of the producer's state, for all the triggers of a run
FALLBACK_EVERY = 10.0  # seconds between two reads of a node waiting for an upstream node watched elsewhere


class RunWatch:
    """What the triggers of one DAG run share in this process: the nodes watched here, those seen to end, and
    the producer's state, read by one trigger for all of them."""

    def __init__(self) -> None:
        self.watching: set[str] = set()
        self.ended: set[str] = set()
        self.triggers = 0
        self._producer: str | None = None
        self._producer_read_at = float("-inf")

    async def producer_state(self, read: Callable[[], Awaitable[str | None]]) -> str | None:
        """The producer's state, read in the calling trigger (the SDK's reads need its task) when the last read
        is older than ``PRODUCER_EVERY``; the other triggers get the last state meanwhile."""
        now = asyncio.get_running_loop().time()
        if now - self._producer_read_at >= PRODUCER_EVERY:
            self._producer_read_at = now
            self._producer = await read()
        return self._producer


# Per DAG run, while any of its triggers runs in this process.
_RUNS: dict[tuple[str, str], RunWatch] = {}


def node_key(task: BaseConsumerSensor) -> str:
    """What a consumer watches: its node, or the tests of its node (the same unique id, another status)."""
    return f"{task.model_unique_id}:tests" if task.is_test_sensor else task.model_unique_id


class NodeStatusTrigger(WatcherTrigger):
    """Wait for one dbt node's status from the watcher's producer; end the task in the triggerer when it
    succeeded (``TaskSuccessEvent``) or was skipped, and hand anything else to the task on a worker."""

    def __init__(self, *args: Any, node: str = "", waits_for: tuple[str, ...] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.node, self.waits_for = node, tuple(waits_for)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        _, kwargs = super().serialize()
        return f"{__name__}.{type(self).__name__}", {**kwargs, "node": self.node, "waits_for": self.waits_for}

    # Both reads call the Task SDK directly on the triggerer's event loop, which Airflow's greenback portal
    # lets a trigger do without blocking it. Cosmos wraps them in asgiref's ``sync_to_async``, whose default
    # runs every call of the process on one shared thread: the reads of all the group's triggers wait in one
    # queue, seconds behind the build. (Cosmos also logs a line per read.)

    async def get_xcom_val(self, key: str) -> Any | None:
        from airflow.sdk.execution_time.xcom import XCom  # the triggerer's, not the DAG file's import

        return XCom.get_one(
            run_id=self.run_id, key=key, task_id=self.producer_task_id, dag_id=self.dag_id, map_index=self.map_index
        )

    async def _get_producer_task_status(self) -> str | None:
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

        states = RuntimeTaskInstance.get_task_states(
            dag_id=self.dag_id, task_ids=[self.producer_task_id], run_ids=[self.run_id]
        )
        state = states.get(self.run_id, {}).get(self.producer_task_id)
        return None if state is None else str(state)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        ti = self.task_instance  # started from the trigger, the task's run is only known here
        self.dag_id, self.run_id = ti.dag_id, ti.run_id
        self.map_index = None if ti.map_index is None or ti.map_index < 0 else ti.map_index
        run = (self.dag_id, self.run_id)
        watch = _RUNS.setdefault(run, RunWatch())
        watch.triggers += 1
        watch.watching.add(self.node)
        try:
            status = await self._wait(watch)
        finally:
            watch.triggers -= 1
            if self.node not in watch.ended:  # cancelled: its downstream nodes must fall back to reading
                watch.watching.discard(self.node)
            if not watch.triggers:
                del _RUNS[run]
        if is_dbt_node_status_success(status):
            yield await self._succeeded()
        elif is_dbt_node_status_skipped(status):
            log.info("dbt skipped %s (an upstream node failed or a source is stale)", self.model_unique_id)
            yield TaskSkippedEvent()
        else:
            # A failure, or a producer that ended without this node's status: Cosmos' own loop decides, and
            # the task resumes on a worker (Cosmos raises the node's error, or runs the node itself).
            async for event in super().run():
                yield await self._ended(event)

    async def _wait(self, watch: RunWatch) -> str | None:
        """Poll until the node's status is terminal or the producer has ended; the last status read."""
        loop = asyncio.get_running_loop()
        status = await self._status() if watch.ended.issuperset(self.waits_for) else None
        # the fallback reads of a run's triggers spread over the interval instead of coming all at once
        wait, read_at = FIRST_POLL, loop.time() - zlib.crc32(self.node.encode()) % 1000 / 1000 * FALLBACK_EVERY
        while not is_dbt_node_status_terminal(status):
            if await watch.producer_state(self._get_producer_task_status) in PRODUCER_FINAL_STATES:
                return await self._status()
            await asyncio.sleep(wait)
            wait = min(wait * BACKOFF, LONGEST_POLL)
            if watch.ended.issuperset(self.waits_for) or (
                self._watched_elsewhere(watch) and loop.time() - read_at >= FALLBACK_EVERY
            ):
                status, read_at = await self._status(), loop.time()
        watch.ended.add(self.node)
        return status

    def _watched_elsewhere(self, watch: RunWatch) -> bool:
        """Whether a node this one waits for has not ended and no trigger of this process watches it: then its
        end is seen here only by reading this node now and then."""
        return not watch.watching.union(watch.ended).issuperset(self.waits_for)

    @property
    def is_detached_test(self) -> bool:
        """A test of several models, rendered as a task of its own (``should_detach_multiple_parents_tests``)."""
        return self.model_unique_id.startswith("test.")

    async def _status(self) -> str | None:
        if self.is_detached_test:
            # Cosmos counts this test's result only in its models' aggregated test statuses, never under its
            # own key, so its task would wait for the producer's end: read the event dbt sent when it ended.
            # Only a pass ends the task here; anything else waits for the producer, as Cosmos would.
            status = (await self._dbt_event()).get("status")
            return status if is_dbt_node_status_success(status) else None
        if self.is_test_sensor:
            return await self.get_xcom_val(get_tests_status_xcom_key(self.model_unique_id))
        return await self._get_node_status()

    async def _dbt_event(self) -> dict[str, Any]:
        return await self.get_xcom_val(get_dbt_event_xcom_key(self.model_unique_id)) or {}

    async def _ended(self, event: TriggerEvent) -> TriggerEvent:
        status = event.payload.get("status")
        if status == EventStatus.SKIPPED:
            return TaskSkippedEvent()
        return await self._succeeded() if status == EventStatus.SUCCESS else event

    async def _succeeded(self) -> TaskSuccessEvent:
        if self.is_test_sensor and not self.is_detached_test:
            log.info("%s: its tests passed in the producer's dbt build", self.model_unique_id)
        else:
            dbt_event = await self._dbt_event()
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
# The nodes a consumer of this process's watcher groups watches: dbt's event for any other node (a test counted
# only in its model's aggregated status) is read by no one.
WATCHED_NODES: set[str] = set()


def publish_less() -> None:
    """Make the watcher's producer push the finished event of a watched node, and the statuses, only (see the
    module's doc)."""
    if getattr(watcher_base, "publishes_less", False):
        return
    process_event = watcher_base._process_dbt_log_event

    def read_events_only(task_instance: Any, dbt_log: dict[str, Any]) -> None:
        if dbt_log.get("info", {}).get("name") in UNREAD_EVENTS:
            return
        if (dbt_log.get("data", {}).get("node_info") or {}).get("unique_id") in WATCHED_NODES:
            process_event(task_instance, dbt_log)

    watcher_base._process_dbt_log_event = read_events_only
    watcher_base.store_compiled_sql_for_model = lambda *args, **kwargs: None
    watcher_base.publishes_less = True


def watch_from_triggerer(group: TaskGroup) -> None:
    """Make every consumer of a watcher group start in the triggerer and wait for no other consumer, and its
    producer publish only what they read."""
    publish_less()
    consumers = {task.task_id: task for task in group.iter_tasks() if isinstance(task, BaseConsumerSensor)}
    WATCHED_NODES.update(task.model_unique_id for task in consumers.values())
    for task in consumers.values():
        upstream = [task_id for task_id in task.upstream_task_ids if task_id in consumers]
        for task_id in upstream:
            consumers[task_id].downstream_task_ids.discard(task.task_id)
            task.upstream_task_ids.discard(task_id)
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
                "node": node_key(task),
                "waits_for": sorted(node_key(consumers[task_id]) for task_id in upstream),
            },
            next_method="execute_complete",
            next_kwargs=None,
            timeout=None,
        )
