"""A results stream's sync, top to bottom: partitions, pages, records, bookmarks, STATE.

Worker threads (`parallel.PartitionFetcher`) fetch `max_parallel_tasks` tasks at a time through
`ApiClient.pages`; the SDK's thread takes every page as it arrives (`records()`). After a
partition's last record its bookmark (`clock.RequestTime.bookmark`) goes into the state, at
once or after the BATCH that holds its records; STATE follows at most every
`state_interval_seconds`. A failure of one task ends that task only (its bookmark stays); a
failure of the run stops it, after a STATE holding every finished task (docs/DESIGN.md).
"""

from __future__ import annotations

import threading
import time
import typing as t
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

from tap_centaur.clock import format_bookmark, format_updated_after
from tap_centaur.errors import RUN_SCOPE, ConsecutiveFailuresError, FailureStreak, scope
from tap_centaur.parallel import Fetched, PartitionDone, PartitionFetcher
from tap_centaur.progress import ProgressLog

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Generator, Iterator

    from tap_centaur.client import ApiClient
    from tap_centaur.pages import Page, Record
    from tap_centaur.schemas import RecordShape
    from tap_centaur.state import Context, PartitionStates
    from tap_centaur.tasks import TaskCatalog


@dataclass
class Partition:
    """One partition: its context, where the read starts, and what the run has seen of it."""

    context: Context
    since: datetime | None
    bookmarked: bool
    pages: int = 0
    records: int = 0
    bookmark: datetime | None = None  # taken at the first page

    @property
    def label(self) -> str:
        """'task 101' or 'task 101 (Labeled)'."""
        label = f"task {self.context['task_id']}"
        if "labeling_state" in self.context:
            label += f" ({self.context['labeling_state']})"
        return label


@dataclass(frozen=True)
class Endpoint:
    """What a results stream reads: its name, path and record shape, v1 or v2."""

    stream: str
    path: str
    shape: RecordShape
    v2: bool


class ResultsSync:
    """Reads one results stream's partitions in parallel; `records()` runs in the SDK's thread."""

    def __init__(
        self,
        endpoint: Endpoint,
        client: ApiClient,
        catalog: TaskCatalog,
        states: PartitionStates,
        *,
        write_state: Callable[[], None],
        batched: bool,
        logger: logging.Logger,
    ) -> None:
        """Prepare the sync; no thread starts and no request is sent before `start_early()`."""
        self.endpoint, self._client, self._catalog, self._states = endpoint, client, catalog, states
        self._settings = client.settings
        self._write_state = write_state
        self._batched = batched
        self._logger = logger
        self._partitions: list[Partition] = []
        self._fetcher: PartitionFetcher[Page] | None = None
        self._started: Future[None] | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._stopped_by: BaseException | None = None
        self._waiting_for_batch: list[Partition] = []
        self._last_state = time.monotonic()
        self._unsaved = False  # bookmarks moved since the last STATE
        self._streak = FailureStreak(self._settings.max_consecutive_task_failures)
        self._progress = ProgressLog(logger, endpoint.stream)

    def start_early(self) -> None:
        """Start in the background, so the streams before this one do not delay its pages."""
        with self._lock:
            if self._started is None:
                starter = ThreadPoolExecutor(1, thread_name_prefix="tap-centaur-start")
                self._started = starter.submit(self._start)
                starter.shutdown(wait=False)

    def close(self) -> None:
        """Stop the workers, whether the run read this stream or ended before it."""
        with self._lock:
            self._closed = True
            fetcher = self._fetcher
        if fetcher is not None:
            fetcher.close()

    def records(self) -> Iterator[Record]:
        """Every partition's records as the workers fetch them, then the last STATE.

        Raises:
            TapCentaurError: a failure of the whole run (after a STATE of every finished task).
        """
        self.start_early()
        assert self._started is not None  # noqa: S101 - just started
        self._started.result()  # an error while starting is raised here, in the SDK's thread
        fetcher = self._fetcher
        if fetcher is None:
            return
        try:
            for event in fetcher.events():
                partition = self._partitions[event.partition]
                if isinstance(event, Fetched):
                    yield from self._take(partition, event.page)
                    self._save_if_due()  # while a long task runs, finished ones are saved
                elif isinstance(event, PartitionDone):
                    self._complete(partition)
                else:
                    self._fail(partition, event.error, fetcher)
        finally:
            fetcher.close()
        self._progress.finish()
        self._flush_state()
        if self._stopped_by is not None:
            raise self._stopped_by

    def release_batched(self) -> None:
        """Bookmark the partitions whose records are now in an announced BATCH, write STATE."""
        for partition in self._waiting_for_batch:
            self._set_bookmark(partition)
        self._waiting_for_batch = []
        self._flush_state()

    def _start(self) -> None:
        """Read where each partition starts, and start the workers."""
        start_date = self._settings.start_date
        for task_id in self._catalog.task_ids(v2=self.endpoint.v2):
            for state in self._settings.labeling_states or [None]:
                context = (
                    {"task_id": task_id, "labeling_state": state} if state else {"task_id": task_id}
                )
                bookmark = self._states.bookmark(context)
                self._partitions.append(Partition(context, bookmark or start_date, bool(bookmark)))
        if not self._partitions:
            if self._catalog.discovering and not self.endpoint.v2:
                self._logger.warning("No task to sync: task discovery found no task.")
            return
        self._progress.starting(
            len(self._partitions),
            [p.since for p in self._partitions if p.bookmarked and p.since is not None],
            self._settings.max_parallel_tasks,
            self._start_text(),
        )
        fetcher = PartitionFetcher(
            self._pages_of,
            len(self._partitions),
            parallelism=self._settings.max_parallel_tasks,
            # A task's partitions (one per labeling state) are fetched and emitted one after
            # another: a case moving between states mid-run is then emitted old version
            # first. Tasks share no case, so they may interleave.
            group_sizes=[len(list(g)) for _, g in groupby(self._partitions, _task_of)],
            # Decided in the worker that saw the failure, so that no further task starts.
            recoverable=lambda error: scope(error) != RUN_SCOPE and not self._streak.failed(error),
        )
        with self._lock:
            if self._closed:
                return
            self._fetcher = fetcher
            fetcher.start()

    def _start_text(self) -> str:
        start_date = self._settings.start_date
        return format_bookmark(start_date) if start_date else "the start"

    def _pages(self, partition: Partition, since: datetime | None) -> Generator[Page, None, None]:
        params = dict(partition.context)
        if since is not None:
            params["updated_after"] = format_updated_after(since)
        endpoint = self.endpoint
        return self._client.pages(endpoint.path, params, endpoint.shape, stream=endpoint.stream)

    def _pages_of(self, index: int) -> Iterator[Page]:
        """A partition's pages (worker thread), re-read in full if its bookmark is impossible."""
        partition = self._partitions[index]
        pages = self._pages(partition, partition.since)
        first = next(pages, None)
        if first is None:
            return
        if partition.bookmarked and partition.since and first.time.is_future(partition.since):
            moment = first.time
            self._logger.warning(
                "%s: the bookmark in the input state, %s, is later than both the API's clock "
                "(%s) and this machine's (%s), so no run can have taken it; reading the task "
                "again from %s instead of trusting it.",
                partition.label,
                format_bookmark(partition.since),
                format_bookmark(moment.server_now) if moment.server_now else "unknown",
                format_bookmark(moment.local_now),
                self._start_text(),
            )
            pages.close()
            pages = self._pages(partition, self._settings.start_date)
            first = next(pages, None)
            if first is None:
                return
        yield first
        yield from pages
        self._streak.succeeded()  # every page of the partition was fetched

    def _take(self, partition: Partition, page: Page) -> Iterator[Record]:
        """Yield a page's records (the first page fixes the partition's bookmark)."""
        if partition.pages == 0:
            since = partition.since
            self._logger.debug(
                "%s: reading cases updated after %s",
                partition.label,
                format_bookmark(since) if since else "the start (full sync)",
            )
            lookback = timedelta(seconds=self._settings.lookback_seconds)
            partition.bookmark = page.time.bookmark(lookback)
        partition.pages += 1
        partition.records += len(page.records)
        self._progress.page(len(page.records))
        for key, value in partition.context.items():  # as the SDK fills partition keys
            for record in page.records:
                record.setdefault(key, value)
        yield from page.records

    def _complete(self, partition: Partition) -> None:
        """Every page is emitted (the last said `has_next` false): the bookmark moves."""
        self._progress.done(partition.label, partition.records, partition.pages)
        if partition.bookmark is None:
            self._logger.warning(
                "%s: the API sent no usable Date header, so the bookmark stays where it was "
                "(the next run re-reads the same cases rather than risk skipping any).",
                partition.label,
            )
        elif self._batched:
            self._waiting_for_batch.append(partition)
        else:
            self._set_bookmark(partition)
            self._unsaved = True
            self._save_if_due()

    def _set_bookmark(self, partition: Partition) -> None:
        self._states.set_bookmark(partition.context, t.cast("datetime", partition.bookmark))

    def _save_if_due(self) -> None:
        """Write STATE when a bookmark moved and state_interval_seconds have passed since."""
        interval = self._settings.state_interval_seconds
        if self._unsaved and time.monotonic() - self._last_state >= interval:
            self._flush_state()

    def _fail(
        self, partition: Partition, error: BaseException, fetcher: PartitionFetcher[Page]
    ) -> None:
        """Record one task's failure; a failure of the run stops it.

        Stopping starts no further task; those in progress finish and are bookmarked, then
        `records()` raises the run's error.
        """
        if not self.endpoint.v2:
            reported = self._catalog.route(error, partition.context)
            if reported is None:
                self._progress.skipped()
                return
            error = reported
        if self._stopped_by is not None:
            return  # the run is stopping: the first failure is the one reported
        if scope(error) == RUN_SCOPE:
            self._stop(error, fetcher)
            return
        self._progress.failed()
        self._catalog.failed(partition.label, str(error))
        self._logger.warning("%s failed; the other tasks go on: %s", partition.label, error)
        if self._streak.tripped:
            self._stop(
                ConsecutiveFailuresError(
                    f"the API failed for {self._streak.limit} tasks in a row, so the run stops "
                    "instead of trying every remaining task (finished tasks are bookmarked). "
                    f"Last failure: {self._streak.last} Try again later, or raise "
                    "max_consecutive_task_failures."
                ),
                fetcher,
            )

    def _stop(self, error: BaseException, fetcher: PartitionFetcher[Page]) -> None:
        self._stopped_by = error
        fetcher.halt()
        self._logger.warning(
            "Stopping the run: no further task starts; those in progress finish first. Cause: %s",
            error,
        )

    def _flush_state(self) -> None:
        """Write STATE now, partitions in the configured order."""
        self._states.order([p.context for p in self._partitions])
        self._write_state()
        self._last_state = time.monotonic()
        self._unsaved = False


def _task_of(partition: Partition) -> int:
    return int(partition.context["task_id"])
