"""The run's tasks: which ones it syncs (its shard's), through results v1 or v2, which failed."""

from __future__ import annotations

import contextlib
import logging
import threading
import typing as t
from dataclasses import dataclass, field

from tap_centaur.errors import UnsupportedTaskError
from tap_centaur.redaction import excerpt

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from tap_centaur.pages import Record
    from tap_centaur.settings import Settings
    from tap_centaur.state import PartitionStates

logger = logging.getLogger("tap-centaur")


@dataclass(eq=False, repr=False)
class TaskCatalog:
    """The run's tasks; a task is read through results v2 when task_results_v2's state has it."""

    _settings: Settings
    _list_tasks: Callable[[], Iterable[Record]]
    _v2_states: PartitionStates
    _selected: Callable[[str], bool]  # whether a stream is selected
    _listed: dict[int, Record] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: The run's failed tasks (and cases), each with its one-line reason.
    failures: dict[str, str] = field(default_factory=dict)

    def listed(self) -> dict[int, Record]:
        """Every task the API lists (within project_ids), by id; read once per run."""
        with self._lock:
            if self._listed is None:
                self._listed = {task["task_id"]: task for task in self._list_tasks()}
                projects = len({task.get("project_id") for task in self._listed.values()})
                plural = "s" if projects != 1 else ""
                found = f"{len(self._listed):,} tasks in {projects:,} project{plural}"
                logger.info("Found %s.", found)
                logger.debug("Task ids found: %s", sorted(self._listed))
            return self._listed

    def list_early(self) -> None:
        """Read the task list in a background thread (a failure there is retried on use)."""

        def list_quietly() -> None:
            with contextlib.suppress(Exception):
                self.listed()

        threading.Thread(target=list_quietly, name="tap-centaur-tasks", daemon=True).start()

    def task_ids(self, *, v2: bool) -> tuple[int, ...]:
        """This shard's tasks read through v1 (all when v2 is not selected) or v2, in order."""
        candidates = self._settings.task_ids or tuple(self.listed())
        tasks = [task for task in candidates if self._settings.in_shard(task)]
        if v2 or self._selected("task_results_v2"):
            tasks = [task for task in tasks if self._v2_states.has_task(task) == v2]
        return tuple(tasks)

    def reads_case_v2(self, task_id: int) -> bool:
        """Whether the task's cases go to case_results_v2 (else v1, whose 426 names the stream)."""
        return self._v2_states.has_task(task_id) and self._selected("case_results_v2")

    def route(
        self, error: BaseException, context: Mapping[str, t.Any], case: str = ""
    ) -> BaseException | None:
        """None when results v2 takes over a task (or `case`) v1 answered 426; else the error."""
        if not isinstance(error, UnsupportedTaskError):
            return error
        stream = "case_results_v2" if case else "task_results_v2"
        if not self._selected(stream):
            return UnsupportedTaskError(
                f"{error} Results v2 serves it through the stream {stream}, which is not selected: "
                f"select it (e.g. meltano select tap-centaur {stream} '*') to read this task."
            )
        task_id = int(context["task_id"])
        if case or not self._v2_states.has_task(task_id):  # once for a task's partitions
            name = (self._listed or {}).get(task_id, {}).get("task_name")
            logger.info(
                "%s%s: v1 of the results API does not serve its type (HTTP 426); it is read "
                "through results v2 (stream %s) from now on.",
                case or f"task {task_id}",
                f" ('{excerpt(name)}')" if isinstance(name, str) else "",
                stream,
            )
        self._v2_states.ensure({"task_id": task_id} if case else context)
        return None
