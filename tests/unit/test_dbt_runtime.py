"""The in-process dbt preparation keeps dbt-common's answer while leaving its slow path unused."""

from __future__ import annotations

import gc
import inspect

import pytest
from dbt_common.behavior_flags import BehaviorFlagRendered

from python_scripts.transform.dbt_runtime import prepare_in_process_dbt

FLAG = {"name": "some_flag", "default": False, "description": "a flag without a source"}


def flag_source() -> str:
    return BehaviorFlagRendered(FLAG, {})._behavior_change_event.flag_source


@pytest.fixture
def restore():
    original = BehaviorFlagRendered.__dict__["_default_source"]
    yield
    BehaviorFlagRendered._default_source = original
    gc.unfreeze()


def test_the_flag_source_is_the_same_and_read_without_inspect_stack(restore, monkeypatch):
    before = flag_source()
    assert before == __name__
    prepare_in_process_dbt()

    def no_stack(*args, **kwargs):
        raise AssertionError("inspect.stack() was called")

    monkeypatch.setattr(inspect, "stack", no_stack)
    assert flag_source() == before
    assert BehaviorFlagRendered(FLAG, {"some_flag": True}).setting is True


def test_objects_alive_before_the_task_are_frozen(restore):
    gc.unfreeze()
    prepare_in_process_dbt()
    assert gc.get_freeze_count() > 1000
