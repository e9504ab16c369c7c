"""The task_results stream: each task's case results, page by page, incrementally."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from operator import itemgetter

from singer_sdk.streams.rest import PageContext

from tap_centaur.bookmarks import (
    find_partition_state,
    partition_key,
    read_bookmark,
    sort_partition_states,
    write_bookmark,
)
from tap_centaur.client import CentaurStream
from tap_centaur.errors import UnsupportedTaskError
from tap_centaur.pages import page_of
from tap_centaur.pagination import SequenceIdPaginator
from tap_centaur.parallel import Page, PartitionDone, PartitionFetcher
from tap_centaur.progress import ProgressLog
from tap_centaur.schemas import CASE_RESULT_SCHEMA
from tap_centaur.timestamps import format_bookmark, format_updated_after, server_time_before_request

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    import requests
    from singer_sdk.helpers.types import Context

    from tap_centaur.pages import Record


def partition_label(context: t.Mapping[str, t.Any]) -> str:
    """'task 101' or 'task 101 (Labeled)'."""
    label = f"task {context['task_id']}"
    if "labeling_state" in context:
        label += f" ({context['labeling_state']})"
    return label


@dataclass(frozen=True)
class FetchedPage:
    """A page's case results; the first page also carries the partition's new bookmark."""

    records: list[Record]
    first: bool
    last: bool
    queried_after: datetime | None

    def __len__(self) -> int:
        """The page's size in records (the fetcher's queues are bounded in records)."""
        return len(self.records)


class TaskResultsStream(CentaurStream):
    """`GET /results/public/v1/list`: every case result of each task, incrementally.

    One partition per task id, and per labeling state when `labeling_state` is set (the
    filter is part of the partition, so changing it never reuses a bookmark taken under
    another filter). The SDK sees neither a replication key (results carry no update
    timestamp) nor partitions: this stream fetches its partitions `max_parallel_tasks` at a
    time (see `parallel`) and emits each page, in the SDK's thread, as soon as it arrives.
    A partition's bookmark (see `bookmarks`) moves, with a STATE message, right after its
    last record.
    """

    name = "task_results"
    path = "/results/public/v1/list"
    primary_keys: t.ClassVar[tuple[str, ...]] = ("task_id", "case_id")
    schema = CASE_RESULT_SCHEMA

    _fetcher: PartitionFetcher[FetchedPage] | None = None
    _task_partitions: list[dict[str, t.Any]] | None = None
    #: Completed partitions whose bookmarks go into the next STATE message.
    _bookmarks_to_write: tuple[tuple[dict[str, t.Any], datetime], ...] = ()

    @property
    def partitions(self) -> None:
        """None: the SDK syncs the stream in one go and `get_records` interleaves partitions.

        Partitions given to the SDK would be emitted one after another, each waiting for the
        one before it, although their pages arrive at the same time (docs/PERFORMANCE.md).
        """
        return None

    @property
    def task_partitions(self) -> list[dict[str, t.Any]]:
        """One context per task (and labeling state): plain ints and strings, no secrets.

        The tasks are `task_ids`, or when it is not set every task the API lists (within
        `project_ids`), discovered once per run.
        """
        if self._task_partitions is None:
            task_ids = self.settings.task_ids or tuple(self._centaur_tap.discovered_tasks)
            states = self.settings.labeling_states
            self._task_partitions = (
                [
                    {"task_id": task_id, "labeling_state": state}
                    for task_id in task_ids
                    for state in states
                ]
                if states
                else [{"task_id": task_id} for task_id in task_ids]
            )
        return self._task_partitions

    @property
    def discovering(self) -> bool:
        """Whether the tasks come from the API's task list rather than from `task_ids`."""
        return not self.settings.task_ids

    def get_new_paginator(self) -> SequenceIdPaginator:
        """Page with `last_sequence_id` and `has_next`."""
        return SequenceIdPaginator()

    def get_url_params(
        self, context: Context | None, next_page_token: int | None
    ) -> dict[str, t.Any]:
        """The task, its filters, the page size and the cursor."""
        assert context is not None  # noqa: S101 - requests are always for one partition
        params: dict[str, t.Any] = {"task_id": context["task_id"]}
        if "labeling_state" in context:
            params["labeling_state"] = context["labeling_state"]
        updated_after = self._updated_after[partition_key(context)]
        if updated_after is not None:
            params["updated_after"] = format_updated_after(updated_after)
        if self.settings.page_size is not None:
            params["limit"] = self.settings.page_size
        if next_page_token is not None:
            params["last_sequence_id"] = next_page_token
        return params

    def get_records(self, context: Context | None) -> Iterable[Record]:
        """Every partition's records as the workers fetch them; STATE after each partition.

        A failed partition ends the run with its error once the partitions in progress have
        finished (their bookmarks are kept); no partition starts after it. In discovery mode
        a task that v1 cannot serve is skipped instead.
        """
        contexts = self.task_partitions
        if not contexts:
            self.logger.warning("No task to sync: task discovery found no task.")
            return
        fetcher = self._start_fetching(contexts)
        failure: BaseException | None = None
        try:
            for event in fetcher.events():
                if isinstance(event, Page):
                    self._count_page(event.partition, event.page)
                    yield from event.page.records
                    if event.page.last:  # STATE right after the last record, not a page later
                        self._complete_partition(event.partition)
                elif isinstance(event, PartitionDone):
                    continue  # completed with its last page
                elif self._skippable(event.error):
                    self._skip_task(contexts[event.partition]["task_id"], event.error)
                elif failure is None:
                    failure = event.error
                    self.logger.warning(
                        "%s failed; the run stops with its error once the partitions in "
                        "progress have finished.",
                        partition_label(contexts[event.partition]),
                    )
        finally:
            self._stop_fetching()
        self._report_skipped_tasks()
        if failure is not None:
            raise failure

    def decode(self, response: requests.Response) -> None:
        """Decode and check the page now, so a bad body is retried or reported here."""
        page_of(response)

    def client_error_message(self, response: requests.Response, where: str) -> str:
        """Name the task on a 404; otherwise as for every endpoint."""
        if response.status_code == 404:
            task_id = where.split()[1]
            return (
                f"task {task_id} not found or not visible to this API key (HTTP 404). Check "
                "task_ids (the number in go.centaurlabs.com/task/<id>) and that the API key "
                "belongs to the organisation that owns the task."
            )
        return super().client_error_message(response, where)

    def _start_fetching(self, contexts: list[dict[str, t.Any]]) -> PartitionFetcher[FetchedPage]:
        """Read every partition's starting point, then start the workers."""
        self._skipped: dict[int, str | None] = {}
        self._progress: dict[int, ProgressLog] = {}
        self._queried_after: dict[int, datetime | None] = {}
        self._updated_after = {
            partition_key(context): read_bookmark(
                find_partition_state(self.tap_state, self.name, context)
            )
            or self.settings.start_date
            for context in contexts
        }
        self._fetcher = PartitionFetcher(
            lambda index: self._fetch_pages(contexts[index]),
            len(contexts),
            parallelism=self.settings.max_parallel_tasks,
            # A task's partitions (one per labeling state) are fetched and emitted one after
            # another: a case moving between states mid-run is then emitted old version
            # first. Tasks share no case, so they may interleave.
            group_sizes=[len(list(group)) for _, group in groupby(contexts, itemgetter("task_id"))],
            recoverable=self._skippable,
        )
        self._fetcher.start()
        return self._fetcher

    def _stop_fetching(self) -> None:
        if self._fetcher is not None:
            self._fetcher.close()
            self._fetcher = None

    def _count_page(self, index: int, page: FetchedPage) -> None:
        """Log a partition's start at its first page, and its progress."""
        if page.first:
            context = self.task_partitions[index]
            label = partition_label(context)
            since = self._updated_after[partition_key(context)]
            self.logger.info(
                "%s: reading cases updated after %s",
                label,
                format_bookmark(since) if since else "the start (full sync)",
            )
            self._progress[index] = ProgressLog(self.logger, label)
            self._queried_after[index] = page.queried_after
        self._progress[index].page(len(page.records))

    def _skippable(self, error: BaseException) -> bool:
        """In discovery mode a task that v1 cannot serve is skipped, not a failure."""
        return self.discovering and isinstance(error, UnsupportedTaskError)

    def _skip_task(self, task_id: int, error: BaseException) -> None:
        """Report a skipped task once (no bookmark is written for it)."""
        if task_id in self._skipped:
            return
        name = self._centaur_tap.discovered_tasks.get(task_id, {}).get("task_name")
        self._skipped[task_id] = name
        self.logger.warning("task %s (%r) skipped: %s", task_id, name, error)

    def _report_skipped_tasks(self) -> None:
        if self._skipped:
            self.logger.warning(
                "Skipped %d discovered task(s) whose type /results/public/v1 does not serve "
                "(HTTP 426): %s",
                len(self._skipped),
                ", ".join(f"{task_id} ({name!r})" for task_id, name in self._skipped.items()),
            )

    def _fetch_pages(self, context: Context) -> Iterator[FetchedPage]:
        """Request a partition's pages one after another (in a worker thread)."""
        paginator = self.get_new_paginator()
        send = self.request_decorator(self._request)
        with self.get_http_request_counter() as request_counter:
            request_counter.with_context(context)
            while not paginator.finished:
                request = self.get_http_request(
                    page=PageContext(
                        stream_context=context, next_page_token=paginator.current_value
                    )
                )
                response = send(
                    self.build_prepared_request(
                        method=request.method,
                        url=request.url,
                        params=request.encode_params(),
                        headers=request.headers,
                    ),
                    context,
                )
                request_counter.increment()
                first = paginator.count == 0
                queried_after = server_time_before_request(response) if first else None
                records = page_of(response).records
                if "labeling_state" in context:  # as the SDK fills partition keys a record lacks
                    for record in records:
                        record.setdefault("labeling_state", context["labeling_state"])
                paginator.advance(response)
                page = FetchedPage(records, first, paginator.finished, queried_after)
                del response, records  # a waiting worker holds only the page it yields
                yield page

    def _complete_partition(self, index: int) -> None:
        """Every page is emitted: move the bookmark and emit STATE right away (SDK pitfall 1).

        With BATCH messages the partition's last records may sit in a batch file not yet
        announced: the bookmark then waits for the STATE the SDK writes after its next BATCH
        message, so no STATE (not even a signal's) holds it before its records.
        """
        context = self.task_partitions[index]
        self._progress[index].finish()
        queried_after = self._queried_after[index]
        if queried_after is None:
            self.logger.warning(
                "%s: the API sent no usable Date header, so the bookmark stays where it was "
                "(the next run re-reads the same cases rather than risk skipping any).",
                partition_label(context),
            )
            return
        self._bookmarks_to_write = (*self._bookmarks_to_write, (context, queried_after))
        if not self.get_batch_config(self.config):
            self._write_state_message()

    def _write_state_message(self) -> None:
        """Write the bookmarks of the partitions completed since the last STATE, then STATE."""
        if self._bookmarks_to_write:
            for context, moment in self._bookmarks_to_write:
                state = self.get_context_state(context)
                write_bookmark(state, moment)
                self.state_manager.finalize_state(state)
            self._bookmarks_to_write = ()
            sort_partition_states(self.stream_state, self.task_partitions)
        super()._write_state_message()
