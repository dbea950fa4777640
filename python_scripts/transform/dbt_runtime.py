"""dbt run in-process by a long-lived Python process (an Airflow task running Cosmos' dbtRunner) pays two
costs that the dbt CLI does not; ``prepare_in_process_dbt`` removes both before a task runs dbt.

1. dbt-common names the module behind each adapter behaviour flag with ``inspect.stack()``, which reads the
   source lines of every frame and scans ``sys.modules`` for each. In the dbt CLI that is a few milliseconds;
   in an Airflow task the stack is deep and thousands of modules are loaded, and it took about a third of
   each dbt invocation. The same name is read from the frames' globals instead.
2. Cosmos runs ``gc.collect()`` after every dbt command: a full collection of a heap that holds Airflow,
   Cosmos and dbt. ``gc.freeze()`` first moves what is alive before the task out of the collector's sight, so
   the collection walks what the command allocated.
"""

from __future__ import annotations

import gc
import sys

_SKIPPED_MODULES = frozenset({"dbt_common.behavior_flags", __name__})


def _flag_source() -> str:
    """The first module up the stack that is not dbt-common's behaviour flags: what dbt-common's own
    ``BehaviorFlagRendered._default_source`` returns, without ``inspect.stack()``."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__")
        if name and name not in _SKIPPED_MODULES:
            return name
        frame = frame.f_back
    return "Unknown"


def prepare_in_process_dbt() -> None:
    from dbt_common.behavior_flags import BehaviorFlagRendered

    BehaviorFlagRendered._default_source = staticmethod(_flag_source)
    gc.freeze()
