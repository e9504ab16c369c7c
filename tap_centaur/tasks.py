"""Which tasks a run syncs, and through which version of the results API each one is read.

The tasks are `task_ids`, or every task the API lists (within `project_ids`); a run syncs its
shard's share of them.
"""

from __future__ import annotations

import contextlib
import threading
import typing as t

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterable, Mapping

    from tap_centaur.pages import Record
    from tap_centaur.settings import Settings
    from tap_centaur.state import PartitionStates


class TaskCatalog:
    """The run's tasks, listed at most once, shared by the streams that need them."""

    def __init__(
        self,
        settings: Settings,
        list_tasks: Callable[[], Iterable[Record]],
        v2_states: PartitionStates,
        *,
        logger: logging.Logger,
    ) -> None:
        """`list_tasks` reads the API's task list; `v2_states` holds the tasks read in v2.

        Both are read on first use, once the input state is loaded.
        """
        self._settings = settings
        self._list_tasks = list_tasks
        self._logger = logger
        self._listed: dict[int, Record] | None = None
        self._lock = threading.Lock()
        self._v2_states = v2_states
        self._v2_known: set[int] | None = None

    @property
    def _v2(self) -> set[int]:
        if self._v2_known is None:
            self._v2_known = {int(context["task_id"]) for context in self._v2_states.contexts()}
        return self._v2_known

    @property
    def discovering(self) -> bool:
        """Whether the tasks come from the API's list rather than from `task_ids`."""
        return not self._settings.task_ids

    def listed(self) -> dict[int, Record]:
        """Every task the API lists (within project_ids), by id; read once per run."""
        with self._lock:
            if self._listed is None:
                self._listed = {task["task_id"]: task for task in self._list_tasks()}
                projects = {task.get("project_id") for task in self._listed.values()}
                scope = (
                    f"projects {list(self._settings.project_ids)}"
                    if (self._settings.project_ids)
                    else f"{len(projects):,} project{'s' if len(projects) != 1 else ''}"
                )
                self._logger.info("Found %s tasks in %s.", f"{len(self._listed):,}", scope)
                self._logger.debug("Task ids found: %s", sorted(self._listed))
            return self._listed

    def list_early(self) -> None:
        """Read the task list in a background thread (a failure there is retried on use)."""

        def list_quietly() -> None:
            with contextlib.suppress(Exception):
                self.listed()

        threading.Thread(target=list_quietly, name="tap-centaur-tasks", daemon=True).start()

    def task_ids(self) -> tuple[int, ...]:
        """This shard's tasks: `task_ids`, or every listed task, in order."""
        candidates = self._settings.task_ids or tuple(self.listed())
        return tuple(task for task in candidates if self._settings.in_shard(task))

    def shard_tasks(self) -> list[Record]:
        """The listed tasks of this shard (for the tasks stream)."""
        return [task for task_id, task in self.listed().items() if self._settings.in_shard(task_id)]

    def name_of(self, task_id: int) -> str | None:
        """The task's name when the task list was read."""
        listed = self._listed or {}
        name = listed.get(task_id, {}).get("task_name")
        return name if isinstance(name, str) else None

    def reads_v2(self, task_id: int) -> bool:
        """Whether the task is read through results v2 (v1 answered 426, now or before)."""
        return task_id in self._v2

    def use_v2(self, context: Mapping[str, t.Any]) -> None:
        """Read a partition's task through results v2 from now on, remembered in the state.

        The partition gets its place in task_results_v2's state, bookmark or not.
        """
        self._v2.add(int(context["task_id"]))
        self._v2_states.ensure(context)
