"""The streams: what each reads (path, schema, keys, replication key); the run's task catalog."""

from __future__ import annotations

import logging
import sys
import threading
import typing as t
from dataclasses import dataclass, field

from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_centaur.errors import TASK_SCOPE, TapCentaurError, UnsupportedTaskError
from tap_centaur.redaction import excerpt
from tap_centaur.schemas import CASE_RESULT, CASE_RESULT_V2, PROJECT, TASK
from tap_centaur.sdk_internals import SdkStream

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from singer_sdk import Tap
    from singer_sdk.batch import BaseBatchFileEncoding
    from singer_sdk.helpers.types import Context

    from tap_centaur.client import ApiClient
    from tap_centaur.engine import ResultsSync
    from tap_centaur.pages import Record
    from tap_centaur.schemas import RecordShape
    from tap_centaur.settings import Settings
    from tap_centaur.state import PartitionStates

logger = logging.getLogger("tap-centaur")


class CentaurStream(SdkStream):
    """A stream of the Centaur API: its path, and its record shape (schema and keys)."""

    #: Checked as each page is decoded (`pages.py`), so the SDK's conformance pass is off.
    shape: t.ClassVar[RecordShape]
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    #: Not the SDK's STATE every 10,000 records: `ResultsSync` writes results STATE.
    STATE_MSG_FREQUENCY = sys.maxsize
    catalog: TaskCatalog  # the run's tasks, set by the tap
    url_base = ""  # the configured API URL, set with the client

    def __init__(self, tap: Tap, client: ApiClient) -> None:
        self.client, self.settings, self.url_base = client, client.settings, client.settings.api_url
        super().__init__(tap=tap, schema=self.shape.schema)
        self.primary_keys = self.shape.keys

    @property
    def emit_activate_version_messages(self) -> bool:
        """Only for a run reading a whole (full-table) stream: targets drop the rows not sent."""
        settings = self.settings
        part = {"tasks": bool(settings.project_ids), "case_results": True, "case_results_v2": True}
        whole = settings.shard_count == 1 and not part.get(self.name)
        return whole and super().emit_activate_version_messages

    def records_of(self, params: dict[str, t.Any]) -> Iterator[Record]:
        """The records of every page of this stream's endpoint for `params`."""
        for page in self.client.pages(self.path, params, self.shape, stream=self.name):
            yield from page.records


class ProjectsStream(CentaurStream):
    """`GET /projects/public/v1/list`: the organisation's projects (emitted by shard 0 only)."""

    name = "projects"
    path = "/projects/public/v1/list"
    shape = PROJECT

    def get_records(self, context: Context | None) -> Iterable[Record]:
        """Every project, in shard 0: shards loading one warehouse never write the same rows."""
        if (index := self.settings.shard_index) != 0:
            self.logger.info("projects: emitted by shard 0 only (this is shard %d).", index)
            return ()
        return self.records_of({})


class TasksStream(CentaurStream):
    """`GET /tasks/public/v1/list`: this shard's tasks (within `project_ids` when set)."""

    name = "tasks"
    path = "/tasks/public/v1/list"
    shape = TASK

    def list_tasks(self) -> Iterator[Record]:
        """Every task the API lists, per project when `project_ids` is set."""
        for project in self.settings.project_ids or [None]:
            yield from self.records_of({} if project is None else {"project_id": project})

    def get_records(self, context: Context | None) -> Iterable[Record]:
        """The tasks of this shard, as listed this run (copies: the SDK may change them)."""
        listed = self.catalog.listed()
        return [dict(listed[task]) for task in listed if self.settings.in_shard(task)]


class TaskResultsStream(CentaurStream):
    """`GET /results/public/v1/list`: every case result of each task, incrementally."""

    name = "task_results"
    path = "/results/public/v1/list"
    shape = CASE_RESULT
    replication_key = "updated_after"
    is_sorted = False
    results: ResultsSync  # set by the tap
    partitions = None  # `ResultsSync`, not the SDK, runs the partitions

    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        """None: bookmarks are capped by clocks when they are taken (`clock.RequestTime`)."""
        return

    def get_records(self, context: Context | None) -> Iterator[Record]:
        """Every partition's records, as `ResultsSync`'s workers read them."""
        return self.results.records()

    def get_batches(
        self,
        batch_config: t.Any,  # noqa: ANN401 - the SDK's BatchConfig, not a public name
        context: Context | None = None,
    ) -> Iterable[tuple[BaseBatchFileEncoding, list[str]]]:
        """The SDK's batches; after each BATCH message, bookmark the partitions it completes."""
        for batch in super().get_batches(batch_config, context):
            yield batch  # the SDK writes the BATCH message before asking for the next one
            self.results.release_batched()
        self.results.release_batched()


class TaskResultsV2Stream(TaskResultsStream):
    """`GET /results/public/v2/list`: the case results of tasks that v1 does not serve."""

    name = "task_results_v2"
    path = "/results/public/v2/list"
    shape = CASE_RESULT_V2


class CaseResultsStream(CentaurStream):
    """`GET /results/public/v1/get`: the case results listed in `case_ids` (full sync)."""

    name = "case_results"
    path = "/results/public/v1/get"
    shape = CASE_RESULT

    def get_records(self, context: Context | None) -> Iterator[Record]:
        """Fetch each configured case of this shard in turn; a failed one stops no other."""
        v2 = self.name.endswith("v2")
        for ref in self.settings.case_ids:
            if not self.settings.in_shard(ref.task_id):
                continue  # another shard's: shards never write the same rows
            if self.catalog.reads_case_v2(ref.task_id) != v2:
                continue
            case = {"task_id": ref.task_id, "case_id": ref.case_id}
            try:
                yield from self.records_of(case)
            except TapCentaurError as error:
                if error.scope != TASK_SCOPE:
                    raise
                subject = f"case {ref.case_id} of task {ref.task_id}"
                reported = error if v2 else self.catalog.route(error, case, subject)
                if reported is not None:
                    self.catalog.failures.setdefault(subject, str(reported))
                    self.logger.warning("%s", reported)


class CaseResultsV2Stream(CaseResultsStream):
    """`GET /results/public/v2/get`: the `case_ids` entries whose task needs results v2."""

    name = "case_results_v2"
    path = "/results/public/v2/get"
    shape = CASE_RESULT_V2


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
