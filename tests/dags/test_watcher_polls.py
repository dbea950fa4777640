"""When the watcher's triggers read their node's status (``elt_dags.watcher.NodeStatusTrigger``).

The XCom reads and the producer's state are replaced by a scripted build (which node ends at which round); the
real services run the same trigger in ``tests/e2e/test_dbt_watcher.py``. Here: a trigger reads its node only
once the nodes it waits for have ended (or on a fallback round), ends the task in the triggerer on success or
skip, and leaves nothing behind in the process once a run's triggers are done.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from airflow.triggers.base import TaskSkippedEvent, TaskSuccessEvent
from elt_dags import watcher


class ScriptedTrigger(watcher.NodeStatusTrigger):
    """The trigger with the producer's XComs replaced by ``build``: node -> status, set by the test's clock."""

    def __init__(self, build: dict[str, str], reads: list[str], producer_reads: list | None = None, **kwargs):
        super().__init__(
            model_unique_id=kwargs["node"],
            producer_task_id="transform.dbt_producer_watcher",
            dag_id="dag",
            run_id="",
            map_index=None,
            **kwargs,
        )
        self.build, self.reads, self.producer_reads = build, reads, [] if producer_reads is None else producer_reads
        self.task_instance = SimpleNamespace(dag_id="dag", run_id="run", map_index=-1, task_id=kwargs["node"])

    async def _status(self) -> str | None:
        self.reads.append(self.node)
        return self.build.get(self.node)

    async def _get_producer_task_status(self) -> str | None:
        self.producer_reads.append(self.node)
        return "running"

    async def get_xcom_val(self, key: str):
        return None


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch):
    monkeypatch.setattr(watcher, "FIRST_POLL", 0.01)
    monkeypatch.setattr(watcher, "LONGEST_POLL", 0.01)
    monkeypatch.setattr(watcher, "FALLBACK_EVERY", 0.05)
    monkeypatch.setattr(watcher, "PRODUCER_EVERY", 0.05)


async def first_event(trigger: watcher.NodeStatusTrigger):
    async for event in trigger.run():
        return event


async def scripted_build(build: dict[str, str], steps: list[tuple[str, str]]) -> None:
    for node, status in steps:
        await asyncio.sleep(0.1)
        build[node] = status


def run_triggers(build: dict[str, str], steps, triggers) -> list:
    async def main():
        results = await asyncio.gather(*(first_event(t) for t in triggers), scripted_build(build, steps))
        return results[:-1]

    return asyncio.run(main())


def test_a_node_is_read_only_once_its_upstream_watched_here_has_ended():
    build, reads = {}, []
    parent = ScriptedTrigger(build, reads, node="model.p")
    child = ScriptedTrigger(build, reads, node="model.c", waits_for=("model.p",))
    events = run_triggers(build, [("model.p", "success"), ("model.c", "success")], [parent, child])

    assert all(isinstance(event, TaskSuccessEvent) for event in events)
    before_the_parent_ended = reads[: max(i for i, node in enumerate(reads) if node == "model.p")]
    # the parent is read every round (10 ms) for the 100 ms before it ends; the child, whose parent is watched
    # in this process, not at all
    assert before_the_parent_ended.count("model.p") >= 5
    assert before_the_parent_ended.count("model.c") == 0
    assert not watcher._RUNS


def test_the_producer_s_state_is_read_for_the_run_not_by_every_trigger():
    build, reads, producer_reads = {}, [], []
    triggers = [ScriptedTrigger(build, reads, producer_reads, node=f"model.{n}") for n in range(10)]
    run_triggers(build, [(f"model.{n}", "success") for n in range(10)], triggers)  # 1 s in all
    assert len(producer_reads) <= 1.0 / watcher.PRODUCER_EVERY + 2
    assert len(reads) > 10 * len(producer_reads)  # each trigger still reads its node every round


def test_a_skipped_node_ends_its_task_as_skipped_in_the_triggerer():
    build, reads = {}, []
    trigger = ScriptedTrigger(build, reads, node="model.s")
    (event,) = run_triggers(build, [("model.s", "skipped")], [trigger])
    assert isinstance(event, TaskSkippedEvent)


def test_a_trigger_whose_upstream_is_watched_elsewhere_still_ends_on_its_fallback_rounds():
    """The upstream node's trigger runs in another triggerer process: nothing here marks it ended."""
    build, reads = {}, []
    child = ScriptedTrigger(build, reads, node="model.c", waits_for=("model.elsewhere",))
    (event,) = run_triggers(build, [("model.c", "success")], [child])
    assert isinstance(event, TaskSuccessEvent)
    assert 0 < reads.count("model.c") <= 0.1 / watcher.FALLBACK_EVERY + 2


def test_a_trigger_whose_upstream_trigger_was_cancelled_falls_back_to_reading():
    """The upstream node's trigger is cancelled (its task cleared, or moved to another triggerer): nothing here
    will mark it ended, so its downstream node is read on fallback rounds again."""
    build, reads = {}, []
    parent = ScriptedTrigger(build, reads, node="model.p")
    child = ScriptedTrigger(build, reads, node="model.c", waits_for=("model.p",))

    async def main():
        watched = asyncio.ensure_future(first_event(parent))
        ended = asyncio.ensure_future(first_event(child))
        await asyncio.sleep(0.03)
        watched.cancel()
        await scripted_build(build, [("model.c", "success")])
        return await asyncio.wait_for(ended, timeout=1)

    assert isinstance(asyncio.run(main()), TaskSuccessEvent)
