"""A results stream's sync, top to bottom: partitions, pages, records, bookmarks, STATE."""

from __future__ import annotations

import logging
import threading
import time
import typing as t
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

from tap_centaur.clock import format_bookmark, format_updated_after
from tap_centaur.errors import RUN_SCOPE, FailureStreak, TapCentaurError, scope
from tap_centaur.parallel import Fetched, PartitionDone, PartitionFetcher

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator

    from tap_centaur.client import ApiClient
    from tap_centaur.pages import Page, Record
    from tap_centaur.schemas import RecordShape
    from tap_centaur.state import Context, PartitionStates
    from tap_centaur.tasks import TaskCatalog

logger = logging.getLogger("tap-centaur")

#: At INFO, a results stream logs its progress at most this often (a line per task at DEBUG).
PROGRESS_SECONDS = 5.0


@dataclass
class Partition:
    """A task (and labeling state): its input bookmark, and what the run has seen of it."""

    context: Context
    label: str  # 'task 101' or 'task 101 (Labeled)'
    resumed: datetime | None
    pages: int = 0
    records: int = 0
    bookmark: datetime | None = None  # taken at the first page


class ProgressLog:
    """A stream's partitions, pages and records counted; at INFO, one line per interval at most."""

    def __init__(
        self, logger: logging.Logger, stream: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._logger, self._stream, self._clock = logger, stream, clock
        self._started = self._last_logged = clock()
        self.total = self.done = self.pages = self.records = 0
        self.failed = self.skipped = 0  # skipped: left to results v2

    def starting(self, total: int, resumed: list[datetime], parallelism: int, start: str) -> None:
        """Start counting `total` partitions; one line for all, with how many resume and where."""
        self.total, self._started = total, self._clock()
        self._last_logged = self._started
        text = f"{total:,} partitions to read ({parallelism} at a time): "
        if resumed:
            text += f"{len(resumed):,} from their bookmarks ({format_bookmark(min(resumed))} "
            text += f"to {format_bookmark(max(resumed))}), "
        fresh = f"{total - len(resumed):,}"
        self._logger.info("%s: %s%s from %s.", self._stream, text, fresh, start)

    def page(self, records: int) -> None:
        """Count one page; log if the interval has passed since the last line."""
        self.pages, self.records, now = self.pages + 1, self.records + records, self._clock()
        if now - self._last_logged >= PROGRESS_SECONDS:
            self._last_logged = now
            self._logger.info("%s: %s so far", self._stream, self._counts())

    def finish(self) -> None:
        """Log the stream's totals."""
        elapsed = self._clock() - self._started
        self._logger.info("%s: finished in %.1f s: %s", self._stream, elapsed, self._counts())

    def _counts(self) -> str:
        elapsed = self._clock() - self._started
        rate = self.records / elapsed if elapsed > 0 else 0
        text = f"{self.done:,} of {self.total:,} partitions done, {self.records:,} records in "
        text += f"{self.pages:,} pages ({rate:,.0f} records/s)"
        text += f", {self.failed:,} failed" if self.failed else ""
        return text + (f", {self.skipped:,} left to results v2" if self.skipped else "")


class ResultsSync:
    """Reads one results stream's partitions in parallel; `records()` runs in the SDK's thread."""

    def __init__(
        self,
        stream: str,
        path: str,
        shape: RecordShape,
        *,
        client: ApiClient,
        catalog: TaskCatalog,
        states: PartitionStates,
        batched: bool,
        write_state: Callable[[], None],
    ) -> None:
        """Prepare the sync; no thread starts and no request is sent before `start_early()`."""
        self.stream, self._path, self._shape, self._batched = stream, path, shape, batched
        self._v2 = stream.endswith("v2")
        self._client, self._catalog, self._states = client, catalog, states
        self._settings = settings = client.settings
        self._write_state = write_state
        start = settings.start_date
        self._start_text = format_bookmark(start) if start else "the start"
        self._lookback = timedelta(seconds=settings.lookback_seconds)
        self._state_interval = settings.state_interval_seconds
        self._partitions: list[Partition] = []
        self._fetcher: PartitionFetcher | None = None
        self._started: Future[PartitionFetcher | None] | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._stopped_by: BaseException | None = None
        self._waiting_for_batch: list[Partition] = []
        self._last_state = time.monotonic()
        self._unsaved = False  # bookmarks moved since the last STATE
        self._streak = FailureStreak(settings.max_consecutive_task_failures)
        self._progress = ProgressLog(logger, stream)

    def start_early(self) -> None:
        """Start in a daemon thread (a run that fails meanwhile exits without waiting for it)."""
        if self._started is None:  # the SDK's thread alone calls it
            self._started = started = Future[PartitionFetcher | None]()

            def start() -> None:
                try:
                    started.set_result(self._start())
                except BaseException as error:  # noqa: BLE001 - `records()` raises it
                    started.set_exception(error)

            threading.Thread(target=start, name="tap-centaur-start", daemon=True).start()

    def close(self) -> None:
        """Stop the workers, whether the run read this stream or ended before it."""
        with self._lock:
            self._closed = True
        if self._fetcher is not None:
            self._fetcher.close()

    def records(self) -> Iterator[Record]:
        """Every partition's records as the workers fetch them, a STATE, then a run's failure."""
        self.start_early()
        fetcher = t.cast("Future[PartitionFetcher | None]", self._started).result()  # or raises
        if fetcher is None:
            return
        try:
            for event in fetcher.events():
                if isinstance(event, Fetched):
                    yield from self._take(event.partition, event.page)
                    self._save_if_due()  # while a long task runs, finished ones are saved
                elif isinstance(event, PartitionDone):
                    self._complete(event.partition)
                else:
                    self._fail(event.partition, event.error)
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

    def _start(self) -> PartitionFetcher | None:
        """Read where each partition starts, and start the workers (None: no partition)."""
        for task_id in self._catalog.task_ids(v2=self._v2):
            for state in self._settings.labeling_state or [None]:
                context = {"task_id": task_id, **({"labeling_state": state} if state else {})}
                label = f"task {task_id}" + (f" ({state})" if state else "")
                self._partitions.append(Partition(context, label, self._states.bookmark(context)))
        if not self._partitions:
            if not self._settings.task_ids and not self._v2:
                logger.warning("No task to sync: task discovery found no task.")
            return None
        parallelism = self._settings.max_parallel_tasks
        resumed = [p.resumed for p in self._partitions if p.resumed]
        self._progress.starting(len(self._partitions), resumed, parallelism, self._start_text)
        fetcher = PartitionFetcher(
            self._pages_of,
            # A task's partitions are one group: a case moving between states is emitted in order.
            [list(group) for _, group in groupby(self._partitions, lambda p: p.context["task_id"])],
            parallelism=parallelism,
            # Decided in the worker that saw the failure, so that no further task starts.
            recoverable=lambda error: scope(error) != RUN_SCOPE and not self._streak.failed(error),
        )
        with self._lock:
            if not self._closed:
                self._fetcher = fetcher
                fetcher.start()
        return fetcher

    def _pages(self, partition: Partition, since: datetime | None) -> Generator[Page, None, None]:
        start = format_bookmark(since) if since else "the start (full sync)"
        logger.debug("%s: reading cases updated after %s", partition.label, start)
        params = dict(partition.context)
        if since is not None:
            params["updated_after"] = format_updated_after(since)
        return self._client.pages(self._path, params, self._shape, stream=self.stream)

    def _pages_of(self, partition: Partition) -> Iterator[Page]:
        """A partition's pages (worker thread), re-read in full if its bookmark is impossible."""
        pages = self._pages(partition, partition.resumed or self._settings.start_date)
        first = next(pages)  # `pages` yields at least one page, or raises
        if partition.resumed and first.time.is_future(partition.resumed):
            server_now = first.time.server_now
            logger.warning(
                "%s: the bookmark in the input state, %s, is later than both the API's clock "
                "(%s) and this machine's (%s), so no run can have taken it; reading the task "
                "again from %s instead of trusting it.",
                partition.label,
                format_bookmark(partition.resumed),
                format_bookmark(server_now) if server_now else "unknown",
                format_bookmark(first.time.local_now),
                self._start_text,
            )
            pages.close()
            pages = self._pages(partition, self._settings.start_date)
            first = next(pages)
        yield first
        yield from pages
        self._streak.succeeded()  # every page of the partition was fetched

    def _take(self, partition: Partition, page: Page) -> Iterator[Record]:
        if partition.pages == 0:
            partition.bookmark = page.time.bookmark(self._lookback)
        partition.pages += 1
        partition.records += len(page.records)
        self._progress.page(len(page.records))
        for key, value in partition.context.items():  # as the SDK fills partition keys
            for record in page.records:
                record.setdefault(key, value)
        yield from page.records

    def _complete(self, partition: Partition) -> None:
        self._progress.done += 1
        logger.debug(
            "%s: done, %d records in %d pages", partition.label, partition.records, partition.pages
        )
        if partition.bookmark is None:
            logger.warning(
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
        if self._unsaved and time.monotonic() - self._last_state >= self._state_interval:
            self._flush_state()

    def _fail(self, partition: Partition, error: BaseException) -> None:
        """Record one task's failure; one of the run (the workers halted already) stops it."""
        reported = error if self._v2 else self._catalog.route(error, partition.context)
        if reported is None:  # results v2 reads the task
            self._progress.skipped += 1
            return
        error = reported
        if self._stopped_by is not None:
            return  # the run is stopping: the first failure is the one reported
        if scope(error) != RUN_SCOPE:
            self._progress.failed += 1
            self._catalog.failures.setdefault(partition.label, str(error))
            logger.warning("%s failed; the other tasks go on: %s", partition.label, error)
            if not self._streak.tripped:
                return
            error = TapCentaurError(
                f"the API failed for {self._streak.limit} tasks in a row, so the run stops "
                "instead of trying every remaining task (finished tasks are bookmarked). "
                f"Last failure: {self._streak.last} Try again later, or raise "
                "max_consecutive_task_failures."
            )
        self._stopped_by = error
        logger.warning(
            "Stopping the run: no further task starts; those in progress finish first. Cause: %s",
            error,
        )

    def _flush_state(self) -> None:
        self._states.order([p.context for p in self._partitions])
        self._write_state()
        self._last_state = time.monotonic()
        self._unsaved = False
