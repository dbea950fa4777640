"""The dbt transformation as a Cosmos task group: one Airflow task per model or snapshot and its tests.

Rendered from the dbt manifest (``make manifest``) so DAG parsing never runs dbt; models run in the
worker through dbt's Python runner; the profile comes from the Airflow connection ``warehouse``.

``COSMOS_LOAD_MODE`` (``dbt_manifest``, or ``dbt_ls``) and ``COSMOS_EXECUTION_MODE`` (``local``, or ``watcher``:
one ``dbt build`` for the whole group, watched by one sensor per node) switch both choices without editing the
DAGs. ``DBT_TASK_GRANULARITY=group`` trades the task per node for two tasks per group: the source freshness
checks, then one ``dbt build`` of the whole selection (dbt's start-up paid once, not per node; a failure retries
the whole build). The benchmarks compare them (see ``benchmarks/cosmos.py``). The defaults are the ones in
production.
"""

from __future__ import annotations

from pathlib import Path

from airflow.sdk import TaskGroup
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, SourceRenderingBehavior, TestBehavior
from cosmos.operators.local import DbtBuildLocalOperator, DbtDocsLocalOperator, DbtSourceLocalOperator
from cosmos.profiles import PostgresUserPasswordProfileMapping

from elt_dags.lineage import join_dbt_datasets
from elt_dags.watcher import watch_from_triggerer
from python_scripts.derived import DBT_PROFILE, DBT_TARGET
from python_scripts.settings import get_settings

join_dbt_datasets()  # in every process that runs a dbt task, before Cosmos reads dbt's artifacts

SETTINGS = get_settings()
DBT_PROJECT_DIR = Path(SETTINGS.dbt_project_dir)
WAREHOUSE_CONN_ID = "warehouse"

PROFILE_CONFIG = ProfileConfig(
    profile_name=DBT_PROFILE,
    target_name=DBT_TARGET,
    profile_mapping=PostgresUserPasswordProfileMapping(
        conn_id=WAREHOUSE_CONN_ID,
        # Threads as in profiles.yml: a task runs one node, but the watcher's single dbt build uses them all.
        profile_args={"schema": "staging", "role": SETTINGS.transformer_role, "threads": SETTINGS.dbt_threads},
    ),
)


def load_mode() -> LoadMode:
    """How the group is rendered at parse time: from the manifest (default) or from ``dbt ls``, which Cosmos
    caches in an Airflow Variable per group until the project's files change."""
    return LoadMode(get_settings().cosmos_load_mode)


def execution_mode() -> ExecutionMode:
    """How the group runs: one dbt invocation per task (default), or Cosmos' watcher."""
    return ExecutionMode(get_settings().cosmos_execution_mode)


def task_granularity() -> str:
    """``node`` (default): one task per dbt node; ``group``: one freshness task and one build task per group."""
    return get_settings().dbt_task_granularity


def dbt_test_behavior(mode: ExecutionMode) -> TestBehavior:
    """``dbt build`` per node where each task runs dbt itself; the watcher's producer already runs one ``dbt build``
    for the group and has no per-node build operator, so its tests are watched after each node instead."""
    return TestBehavior.AFTER_EACH if mode is ExecutionMode.WATCHER else TestBehavior.BUILD


def dbt_docs_task(task_id: str = "dbt_docs") -> DbtDocsLocalOperator:
    """``dbt docs generate`` (with the warehouse's catalog) into ``DBT_DOCS_DIR``, served by Cosmos' plugin."""
    return DbtDocsLocalOperator(
        task_id=task_id,
        project_dir=DBT_PROJECT_DIR,
        profile_config=PROFILE_CONFIG,
        invocation_mode=InvocationMode.DBT_RUNNER,
        install_deps=False,
        dbt_cmd_flags=["--target-path", get_settings().dbt_docs_dir],
        pre_execute=prepare_dbt,
    )


def prepare_dbt(context) -> None:
    """Before each dbt task: what running dbt in the task process needs (python_scripts.transform.dbt_runtime)."""
    from python_scripts.transform.dbt_runtime import prepare_in_process_dbt

    prepare_in_process_dbt()


# Every dbt task of a group: one instance of each at a time across runs of the DAG, so concurrent runs (a
# backfill) never build the same relation at once, while independent nodes of one run still run in parallel.
DBT_TASK_ARGS = {"max_active_tis_per_dag": 1, "retries": 1}


def dbt_task_group(group_id: str, select: list[str]) -> TaskGroup:
    """A task group running the selected dbt nodes: one ``dbt build`` task per model or snapshot (the node, then
    its tests, so a failing test stops everything downstream), and one per source freshness check; or, with
    ``DBT_TASK_GRANULARITY=group``, the freshness checks and one ``dbt build`` of the selection."""
    if task_granularity() == "group":
        return dbt_build_group(group_id, select)
    mode = execution_mode()
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=DBT_PROJECT_DIR / "target" / "manifest.json",
            install_dbt_deps=False,
        ),
        profile_config=PROFILE_CONFIG,
        execution_config=ExecutionConfig(execution_mode=mode, invocation_mode=InvocationMode.DBT_RUNNER),
        render_config=RenderConfig(
            load_method=load_mode(),
            select=select,
            test_behavior=dbt_test_behavior(mode),
            source_rendering_behavior=SourceRenderingBehavior.WITH_TESTS_OR_FRESHNESS,
            should_detach_multiple_parents_tests=True,
        ),
        operator_args={"max_active_tis_per_dag": DBT_TASK_ARGS["max_active_tis_per_dag"], "pre_execute": prepare_dbt},
        default_args={"retries": DBT_TASK_ARGS["retries"]},
    )
    if mode is ExecutionMode.WATCHER:
        watch_from_triggerer(group)
    return group


def dbt_build_group(group_id: str, select: list[str]) -> TaskGroup:
    """Two tasks: ``dbt source freshness`` of the selection's sources (a stale source stops the build, as in the
    per-node group), then one ``dbt build`` of the selection in dependency order on dbt's threads."""
    common = {
        "project_dir": DBT_PROJECT_DIR,
        "profile_config": PROFILE_CONFIG,
        "invocation_mode": InvocationMode.DBT_RUNNER,
        "install_deps": False,
        "select": select,
        "pre_execute": prepare_dbt,
        **DBT_TASK_ARGS,
    }
    with TaskGroup(group_id=group_id) as group:
        DbtSourceLocalOperator(task_id="source_freshness", **common) >> DbtBuildLocalOperator(
            task_id="dbt_build", **common
        )
    return group
