"""The run's tasks: which ones it syncs, through which results API version, and which failed.

The tasks are `task_ids`, or every task the API lists (within `project_ids`); a run syncs its
shard's share of them. A task that v1 does not serve (HTTP 426) is read through results v2
when that stream is selected (`route`, the one place that decides it).
"""

from __future__ import annotations

import contextlib
import threading
import typing as t

from tap_centaur.errors import UnsupportedTaskError
from tap_centaur.redaction import excerpt

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
        selected: Callable[[str], bool],
        logger: logging.Logger,
    ) -> None:
        """`list_tasks` reads the API's task list; `v2_states` holds the tasks read in v2.

        Both are read on first use, once the input state is loaded. `selected(stream)` says
        whether a stream is selected.
        """
        self._settings = settings
        self._list_tasks = list_tasks
        self._selected = selected
        self._logger = logger
        self._listed: dict[int, Record] | None = None
        self._lock = threading.Lock()
        self._v2_states = v2_states
        self._v2_known: set[int] | None = None
        #: The run's failed tasks (and cases), each with its one-line reason.
        self.failures: dict[str, str] = {}

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
                    if self._settings.project_ids
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

    def task_ids(self, *, v2: bool) -> tuple[int, ...]:
        """This shard's tasks (`task_ids`, or every listed task, in order) read through v1 or v2.

        Through v1: every task unless `task_results_v2` is selected (a v2 task's 426 then
        fails it, saying what to select).
        """
        candidates = self._settings.task_ids or tuple(self.listed())
        tasks = [task for task in candidates if self._settings.in_shard(task)]
        if not v2 and not self._selected("task_results_v2"):
            return tuple(tasks)
        return tuple(task for task in tasks if self.reads_v2(task) == v2)

    def shard_tasks(self) -> list[Record]:
        """The listed tasks of this shard (for the tasks stream)."""
        return [task for task_id, task in self.listed().items() if self._settings.in_shard(task_id)]

    def reads_v2(self, task_id: int) -> bool:
        """Whether the task is read through results v2 (v1 answered 426, now or before)."""
        return task_id in self._v2

    def failed(self, subject: str, reason: str) -> None:
        """Record a failed task (or case) and its reason (the first one counts)."""
        self.failures.setdefault(subject, reason)

    def route(
        self, error: BaseException, context: Mapping[str, t.Any], case: str = ""
    ) -> BaseException | None:
        """None when results v2 takes over a task (or `case`) v1 failed; else the error to report.

        Only a 426, and only when the v2 stream is selected: the task is then read through v2
        from now on, remembered in task_results_v2's state, bookmark or not. Otherwise the
        error says what to select, and nothing in the state sends the task to v2 (it is never
        skipped without a word).
        """
        if not isinstance(error, UnsupportedTaskError):
            return error
        stream = "case_results_v2" if case else "task_results_v2"
        if not self._selected(stream):
            return UnsupportedTaskError(
                f"{error} Results v2 serves it, through the stream {stream}, which is not "
                f"selected: select it (e.g. meltano select tap-centaur {stream} '*') to read "
                "this task."
            )
        task_id = int(context["task_id"])
        if case:
            self._logger.info("%s: read through results v2 (v1 answered 426).", case)
        elif task_id not in self._v2:
            name = (self._listed or {}).get(task_id, {}).get("task_name")
            self._logger.info(
                "task %s%s: v1 of the results API does not serve its type (HTTP 426); it is "
                "read through results v2 (stream task_results_v2) from now on.",
                task_id,
                f" ('{excerpt(name)}')" if isinstance(name, str) else "",
            )
        self._v2.add(task_id)
        self._v2_states.ensure({"task_id": task_id} if case else context)
        return None
