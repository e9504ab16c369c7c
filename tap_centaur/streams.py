"""The streams: what each reads (path, schema, keys, parameters) and how its records are checked."""

from __future__ import annotations

import typing as t
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta

from tap_centaur.client import CentaurStream
from tap_centaur.clock import format_updated_after
from tap_centaur.engine import Partition, PartitionRun, naming_earlier_failures
from tap_centaur.errors import TASK_SCOPE, TapCentaurError, UnsupportedTaskError
from tap_centaur.pages import Page
from tap_centaur.redaction import excerpt
from tap_centaur.schemas import CASE_RESULT, CASE_RESULT_V2, PROJECT, TASK

if t.TYPE_CHECKING:
    from collections.abc import Generator, Iterable, Iterator
    from datetime import datetime

    import requests
    from singer_sdk import Tap
    from singer_sdk.batch import BaseBatchFileEncoding
    from singer_sdk.helpers.types import Context

    from tap_centaur.client import ApiClient
    from tap_centaur.engine import RunReport
    from tap_centaur.pages import Record
    from tap_centaur.state import PartitionStates
    from tap_centaur.tasks import TaskCatalog


class RunStream(CentaurStream):
    """A stream that tells the run's report when it ends, and records failures in it."""

    def __init__(self, tap: Tap, client: ApiClient, report: RunReport) -> None:
        """A stream of `tap`, reporting to `report`."""
        self.report = report
        super().__init__(tap, client)

    def get_records(self, context: Context | None) -> Iterable[Record]:
        """The stream's records; after the last stream's, the report ends the run (logout).

        A dry run (the SDK's connection check, `--test`, which stops each stream after one
        record) gives up quickly on an unreachable API; a scheduled sync keeps its retries.
        """
        if self.ABORT_AT_RECORD_COUNT is not None:
            self.client.retry_policy.check_connection_quickly()
        else:
            self.report.started()
        try:
            yield from self.read_records(context)
        except GeneratorExit:  # the SDK stopped reading: a dry run, or an error after a record
            if self.ABORT_AT_RECORD_COUNT is not None:
                self.report.finished(self.name)
            else:
                self.report.end()
            raise
        except Exception as error:
            self.report.end()
            stopped = naming_earlier_failures(error, self.report.failures)
            if stopped is error:
                raise
            raise stopped from error
        self.report.finished(self.name)

    def finalize_state_progress_markers(self, state: dict[str, t.Any] | None = None) -> None:
        """As the SDK does; after the run's last stream, end with the failed tasks' summary.

        The SDK calls this once a stream's sync is over, its last BATCH written: raised here,
        not from the records, the summary comes after every other task's BATCH and bookmark.

        Raises:
            TaskFailuresError: naming each failed task and its reason.
        """
        super().finalize_state_progress_markers(state)
        self.report.raise_failures()

    def read_records(self, context: Context | None) -> Iterable[Record]:
        """The stream's records (the SDK's page loop by default)."""
        return self.request_records(context)


class ProjectsStream(RunStream):
    """`GET /projects/public/v1/list`: the organisation's projects (emitted by shard 0 only)."""

    name = "projects"
    path = "/projects/public/v1/list"
    shape = PROJECT

    @property
    def emit_activate_version_messages(self) -> bool:
        """Only a run that reads every project may tell targets to drop the others."""
        return super().emit_activate_version_messages and self.settings.shard_count == 1

    def read_records(self, context: Context | None) -> Iterable[Record]:
        """Every project, in shard 0: shards loading one warehouse never write the same rows."""
        if self.settings.shard_index != 0:
            self.logger.info("projects: emitted by shard 0 only (this is shard %d).",
                             self.settings.shard_index)  # fmt: skip
            return ()
        return self.request_records(context)


class TasksStream(RunStream):
    """`GET /tasks/public/v1/list`: this shard's tasks (within `project_ids` when set)."""

    name = "tasks"
    path = "/tasks/public/v1/list"
    shape = TASK

    def __init__(self, tap: Tap, client: ApiClient, report: RunReport) -> None:
        """The catalog is attached by the tap (it lists tasks through this stream)."""
        super().__init__(tap, client, report)
        self.catalog: TaskCatalog | None = None

    @property
    def emit_activate_version_messages(self) -> bool:
        """Only a run that reads every task may tell targets to drop the others."""
        return (
            super().emit_activate_version_messages
            and self.settings.shard_count == 1
            and not self.settings.project_ids
        )

    def list_tasks(self) -> Iterator[Record]:
        """Every task the API lists, per project when `project_ids` is set."""
        filters: list[dict[str, int] | None] = [
            {"project_id": project} for project in self.settings.project_ids
        ]
        for context in filters or [None]:
            yield from self.request_records(context)

    def read_records(self, context: Context | None) -> Iterable[Record]:
        """The tasks of this shard, as listed this run (copies: the SDK may change them)."""
        assert self.catalog is not None  # noqa: S101 - attached by the tap
        return [dict(task) for task in self.catalog.shard_tasks()]


class PerTaskStream(RunStream):
    """A stream of requests per task: it reads the run's `TaskCatalog` (shards, v1 or v2)."""

    def __init__(
        self, tap: Tap, client: ApiClient, report: RunReport, catalog: TaskCatalog
    ) -> None:
        """A stream of the tasks in `catalog`."""
        super().__init__(tap, client, report)
        self.catalog = catalog


class ResultsStream(PerTaskStream):
    """Case results of each task, incrementally, partition by partition, in parallel.

    One partition per task id, and per labeling state when `labeling_state` is set (the
    filter is part of the partition, so changing it never reuses a bookmark taken under
    another filter). The SDK sees the stream as one incremental sync without partitions;
    `engine.PartitionRun` reads the partitions and emits each page as it arrives.
    """

    replication_key = "updated_after"
    is_sorted = False

    def __init__(
        self,
        tap: Tap,
        client: ApiClient,
        report: RunReport,
        catalog: TaskCatalog,
        states: PartitionStates,
    ) -> None:
        """Results of the tasks in `catalog`, bookmarked in `states`."""
        super().__init__(tap, client, report, catalog)
        self.states = states
        self._run: PartitionRun | None = None
        self._early: Future[None] | None = None

    @property
    def partitions(self) -> None:
        """None: the engine, not the SDK, runs the partitions (docs/DESIGN.md)."""
        return None

    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        """None: bookmarks are capped by clocks when they are taken (`clock.RequestTime`)."""
        return

    def task_ids(self) -> tuple[int, ...]:
        """The tasks this stream reads."""
        raise NotImplementedError

    def contexts(self) -> list[Context]:
        """One context per task (and labeling state): plain ints and strings, no secrets."""
        states = self.settings.labeling_states
        return [
            {"task_id": task_id, "labeling_state": state} if state else {"task_id": task_id}
            for task_id in self.task_ids()
            for state in states or [None]
        ]

    def fetch_pages(self, context: Context, since: datetime | None) -> Generator[Page, None, None]:
        """A partition's pages through the SDK's page loop (retries, paginator, metrics)."""
        request_context = dict(context)
        if since is not None:
            request_context["updated_after"] = format_updated_after(since)
        return t.cast("Generator[Page, None, None]", self.request_records(request_context))

    def parse_response(self, response: requests.Response) -> list[Page]:  # type: ignore[override]
        """One item per answer, the whole page: the engine emits its records."""
        return [Page.of(response)]

    def start(self) -> None:
        """Read where each partition starts and start the workers (once)."""
        if self._run is None:
            self._run = self._new_run()
        self._run.start()

    def close(self) -> None:
        """Stop the workers, whether the run read this stream or ended before it."""
        if self._run is not None:
            self._run.close()

    def start_early(self) -> None:
        """Start in the background, while the streams before this one are written.

        So the requests of the projects and tasks streams do not delay the first results page.
        """
        if self._early is None:
            starter = ThreadPoolExecutor(1, thread_name_prefix="tap-centaur-start")
            self._early = starter.submit(self.start)
            starter.shutdown(wait=False)

    def read_records(self, context: Context | None) -> Iterator[Record]:
        """Every partition's records, as the engine reads them."""
        if self._early is not None:
            self._early.result()  # an error while starting is raised here, in the SDK's thread
        self.start()
        assert self._run is not None  # noqa: S101 - just started
        yield from self._run.records()

    def get_batches(
        self,
        batch_config: t.Any,  # noqa: ANN401 - the SDK's BatchConfig, not a public name
        context: Context | None = None,
    ) -> Iterable[tuple[BaseBatchFileEncoding, list[str]]]:
        """The SDK's batches; after each BATCH message, bookmark the partitions it completes.

        A bookmark never reaches a STATE (not even a signal's) before the BATCH that holds
        the partition's last records has been written.
        """
        for batch in super().get_batches(batch_config, context):
            yield batch  # the SDK writes the BATCH message before asking for the next one
            if self._run is not None:
                self._run.release_batched()
        if self._run is not None:
            self._run.release_batched()

    def reroute(self, partition: Partition, error: BaseException) -> BaseException | None:
        """None when another stream takes over a failed partition, else the error to report."""
        return error

    def client_error_message(self, response: requests.Response, where: str) -> str:
        """Name the task on a 404; otherwise as for every endpoint."""
        if response.status_code == 404:
            task = where.split(" (", maxsplit=1)[0]
            return (
                f"{task} not found or not visible to this API key (HTTP 404). Check "
                "task_ids (the number in go.centaurlabs.com/task/<id>) and that the API key "
                "belongs to the organisation that owns the task."
            )
        return super().client_error_message(response, where)

    def _new_run(self) -> PartitionRun:
        settings = self.settings
        partitions = []
        for context in self.contexts():
            bookmark = self.states.bookmark(context)
            since = bookmark or settings.start_date
            partitions.append(Partition(dict(context), since, bookmarked=bookmark is not None))
        if not partitions and self.catalog.discovering and self.name == "task_results":
            self.logger.warning("No task to sync: task discovery found no task.")
        return PartitionRun(
            self,
            partitions,
            states=self.states,
            write_state=self._write_state,
            report=self.report,
            parallelism=settings.max_parallel_tasks,
            lookback=timedelta(seconds=settings.lookback_seconds),
            state_interval=settings.state_interval_seconds,
            start_date=settings.start_date,
            max_consecutive_failures=settings.max_consecutive_task_failures,
            batched=bool(self.get_batch_config(self.config)),
            reroute=self.reroute,
            logger=self.logger,
        )

    def _write_state(self) -> None:
        self.owner.state_writer.write_state(self.owner.state)


class TaskResultsStream(ResultsStream):
    """`GET /results/public/v1/list`: every case result of each task, incrementally."""

    name = "task_results"
    path = "/results/public/v1/list"
    shape = CASE_RESULT
    #: The stream that reads the tasks v1 does not serve (set by the tap).
    v2_stream: CentaurStream | None = None

    def task_ids(self) -> tuple[int, ...]:
        """This shard's tasks, except those read through results v2 (when it is selected)."""
        tasks = self.catalog.task_ids()
        if not _selected(self.v2_stream):
            return tasks  # a v2 task's 426 then fails it, saying what to select
        return tuple(task for task in tasks if not self.catalog.reads_v2(task))

    def reroute(self, partition: Partition, error: BaseException) -> BaseException | None:
        """A task that v1 does not serve (426) is read by `task_results_v2`, now and later.

        Only when that stream is selected: otherwise the task fails, saying what to select,
        and nothing in the state sends it to v2 (it is never skipped without a word).
        """
        if not isinstance(error, UnsupportedTaskError):
            return error
        if not _selected(self.v2_stream):
            return not_selected(error, "task_results_v2")
        task_id = partition.task_id
        if not self.catalog.reads_v2(task_id):
            self.logger.info(
                "task %s%s: v1 of the results API does not serve its type (HTTP 426); it is "
                "read through results v2 (stream task_results_v2) from now on.",
                task_id,
                f" ('{excerpt(name)}')" if (name := self.catalog.name_of(task_id)) else "",
            )
        self.catalog.use_v2(partition.context)
        return None


class TaskResultsV2Stream(ResultsStream):
    """`GET /results/public/v2/list`: the case results of tasks that v1 does not serve."""

    name = "task_results_v2"
    path = "/results/public/v2/list"
    shape = CASE_RESULT_V2

    def task_ids(self) -> tuple[int, ...]:
        """This shard's tasks that are read through results v2."""
        return tuple(task for task in self.catalog.task_ids() if self.catalog.reads_v2(task))


class CaseResultsStream(PerTaskStream):
    """`GET /results/public/v1/get`: the case results listed in `case_ids` (full sync)."""

    name = "case_results"
    path = "/results/public/v1/get"
    shape = CASE_RESULT
    listed = False
    v2 = False
    #: The stream that reads the cases of tasks v1 does not serve (set by the tap).
    v2_stream: CentaurStream | None = None

    @property
    def emit_activate_version_messages(self) -> bool:
        """Never: a run reads only the cases listed, not the whole stream."""
        return False

    def read_records(self, context: Context | None) -> Iterator[Record]:
        """Fetch each configured case of this shard in turn; a failed one stops no other."""
        for ref in self.settings.case_ids:
            if not self.settings.in_shard(ref.task_id):
                continue  # another shard's: shards never write the same rows
            if self.catalog.reads_v2(ref.task_id) != self.v2:
                continue
            case = {"task_id": ref.task_id, "case_id": ref.case_id}
            try:
                yield from self.request_records(case)
            except UnsupportedTaskError as error:
                if self.v2:
                    raise
                if not _selected(self.v2_stream):
                    reason = str(not_selected(error, "case_results_v2"))
                    self.report.failed(f"case {ref.case_id} of task {ref.task_id}", reason)
                    self.logger.warning("%s", reason)
                    continue
                self.catalog.use_v2({"task_id": ref.task_id})
                self.logger.info(
                    "case %s of task %s: read through results v2 (v1 answered 426).",
                    ref.case_id,
                    ref.task_id,
                )
            except TapCentaurError as error:
                if error.scope != TASK_SCOPE:
                    raise
                self.report.failed(f"case {ref.case_id} of task {ref.task_id}", str(error))
                self.logger.warning("%s", error)

    def client_error_message(self, response: requests.Response, where: str) -> str:
        """Name the case on a 404."""
        if response.status_code == 404:
            return (
                f"{where}: case not found or not visible to this API key (HTTP 404). Check "
                "case_ids (case_id is the number in go.centaurlabs.com/problem/<id>)."
            )
        return super().client_error_message(response, where)


class CaseResultsV2Stream(CaseResultsStream):
    """`GET /results/public/v2/get`: the `case_ids` entries whose task needs results v2."""

    name = "case_results_v2"
    path = "/results/public/v2/get"
    shape = CASE_RESULT_V2
    v2 = True


def _selected(stream: CentaurStream | None) -> bool:
    """Whether a results v2 stream is there to take over a task (or case) and is selected."""
    return stream is not None and stream.selected


def not_selected(error: UnsupportedTaskError, v2_stream: str) -> UnsupportedTaskError:
    """The 426 of a task whose results v2 stream is not selected: what to select."""
    return UnsupportedTaskError(
        f"{error} Results v2 serves it, through the stream {v2_stream}, which is not "
        f"selected: select it (e.g. meltano select tap-centaur {v2_stream} '*') to read "
        "this task."
    )
