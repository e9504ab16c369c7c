"""A results stream's sync, top to bottom: partitions, pages, records, bookmarks, STATE."""

from __future__ import annotations

import logging
import threading
import time
import typing as t
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

from tap_centaur.clock import format_bookmark, format_updated_after
from tap_centaur.errors import RUN_SCOPE, RetriesExhaustedError, TapCentaurError, scope
from tap_centaur.output import start_thread
from tap_centaur.parallel import PartitionFetcher

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator

    from tap_centaur.pages import Page, Record
    from tap_centaur.state import Context, PartitionStates
    from tap_centaur.streams import TaskCatalog, TaskResultsStream

logger = logging.getLogger("tap-centaur")

#: At INFO, a results stream logs its progress at most this often (a line per task at DEBUG).
PROGRESS_SECONDS = 5.0
#: How a partition may end besides done, in the order the progress lines count them.
ENDS = ("failed", "left to results v2")


@dataclass
class Partition:
    """A task (and labeling state): its input bookmark, and what the run has seen of it."""

    context: Context
    label: str  # 'task 101' or 'task 101 (Labeled)'
    resumed: datetime | None
    pages: int = 0
    records: int = 0
    bookmark: datetime | None = None  # taken at the first page
    end: str = ""  # once it ended: "done", "failed" or "left to results v2"


class FailureStreak:
    """Tasks failing in a row because the API fails (retries exhausted); thread-safe."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.tripped = False  # for good, once the limit is reached
        self.last = ""
        self._count = 0
        self._lock = threading.Lock()

    def failed(self, error: BaseException) -> bool:
        """Count a failed task; whether the streak has reached the limit."""
        with self._lock:
            if isinstance(error, RetriesExhaustedError):
                self._count += 1
                self.last = str(error)
                self.tripped = self.tripped or self._count >= self.limit
            return self.tripped

    def succeeded(self) -> None:
        """A task was read whole: the streak starts again."""
        with self._lock:
            self._count = 0


class ResultsSync:
    """Reads one results stream's partitions in parallel; `records()` runs in the SDK's thread."""

    def __init__(
        self,
        stream: TaskResultsStream,
        catalog: TaskCatalog,
        states: PartitionStates,
        write_state: Callable[[], None],
    ) -> None:
        """Prepare the sync; no thread starts and no request is sent before `start_early()`."""
        self.stream, self._path, self._shape = stream.name, stream.path, stream.shape
        self._v2 = stream.name.endswith("v2")
        self._batched = bool(stream.config.get("batch_config"))
        self._client, self._catalog, self._states = stream.client, catalog, states
        self._settings = settings = stream.client.settings
        self._write_state = write_state
        start = settings.start_date
        self._start_text = format_bookmark(start) if start else "the start"
        self._lookback = timedelta(seconds=settings.lookback_seconds)
        self._state_interval = settings.state_interval_seconds
        self._partitions: list[Partition] = []
        self._streak = FailureStreak(settings.max_consecutive_task_failures)
        self._fetcher = PartitionFetcher(
            self._pages_of,
            parallelism=settings.max_parallel_tasks,
            # Decided in the worker that saw the failure, so that no further task starts.
            recoverable=lambda error: scope(error) != RUN_SCOPE and not self._streak.failed(error),
        )
        self._started: Future[bool] | None = None
        self._stopped_by: BaseException | None = None
        self._waiting_for_batch: list[tuple[Context, datetime]] = []  # (context, bookmark)
        self._last_state = time.monotonic()
        self._unsaved = False  # bookmarks moved since the last STATE
        self._started_at = self._logged_at = 0.0  # when the workers started, progress logged

    def start_early(self) -> Future[bool]:
        """Start in a daemon thread (a run that fails meanwhile exits without waiting for it)."""
        if self._started is None:  # the SDK's thread alone calls it; `records()` raises its error
            self._started = start_thread(self._start, "tap-centaur-start")
        return self._started

    def close(self) -> None:
        """Stop the workers, whether the run read this stream or ended before it."""
        self._fetcher.close()

    def records(self) -> Iterator[Record]:
        """Every partition's records as the workers fetch them, a STATE, then a run's failure."""
        if not self.start_early().result():  # no partition to read; or it raises
            return
        try:
            for partition, outcome in self._fetcher.events():
                if outcome is None:
                    self._complete(partition)
                elif isinstance(outcome, BaseException):
                    self._fail(partition, outcome)
                else:
                    yield from self._take(partition, outcome)
                    self._save_if_due()  # while a long task runs, finished ones are saved
        finally:
            self._fetcher.close()
        elapsed = time.monotonic() - self._started_at
        logger.info("%s: finished in %.1f s: %s", self.stream, elapsed, self._progress(elapsed))
        self._flush_state()
        if self._stopped_by is not None:
            raise self._stopped_by

    def release_batched(self) -> None:
        """Bookmark the partitions whose records are now in an announced BATCH, write STATE."""
        for context, bookmark in self._waiting_for_batch:
            self._states.set_bookmark(context, bookmark)
        self._waiting_for_batch = []
        self._flush_state()

    def _start(self) -> bool:
        """Read where each partition starts, and start the workers (False: no partition)."""
        for task_id in self._catalog.task_ids(v2=self._v2):
            for state in self._settings.labeling_state or [None]:
                context = {"task_id": task_id, **({"labeling_state": state} if state else {})}
                label = f"task {task_id}" + (f" ({state})" if state else "")
                self._partitions.append(Partition(context, label, self._states.bookmark(context)))
        if not self._partitions:
            if not self._settings.task_ids and not self._v2:
                logger.warning("No task to sync: task discovery found no task.")
            return False
        parallelism, total = self._settings.max_parallel_tasks, len(self._partitions)
        resumed = [p.resumed for p in self._partitions if p.resumed]
        text = f"{total:,} partitions to read ({parallelism} at a time): "
        if resumed:
            text += f"{len(resumed):,} from their bookmarks ({format_bookmark(min(resumed))} "
            text += f"to {format_bookmark(max(resumed))}), "
        fresh = f"{total - len(resumed):,}"
        logger.info("%s: %s%s from %s.", self.stream, text, fresh, self._start_text)
        self._started_at = self._logged_at = time.monotonic()
        # A task's partitions are one group: a case moving between states is emitted in order.
        self._fetcher.start(
            [list(group) for _, group in groupby(self._partitions, lambda p: p.context["task_id"])]
        )
        return True

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
                "(%s) and this machine's (%s): no run took it; reading the task again from %s.",
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
        if (now := time.monotonic()) - self._logged_at >= PROGRESS_SECONDS:
            self._logged_at = now
            logger.info("%s: %s so far", self.stream, self._progress(now - self._started_at))
        for key, value in partition.context.items():  # as the SDK fills partition keys
            for record in page.records:
                record.setdefault(key, value)
        yield from page.records

    def _progress(self, elapsed: float) -> str:
        """Partitions done (failed, left to v2) of all, records, pages, records per second."""
        ends = Counter(p.end for p in self._partitions)
        records = sum(p.records for p in self._partitions)
        text = f"{ends['done']:,} of {len(self._partitions):,} partitions done, {records:,} "
        text += f"records in {sum(p.pages for p in self._partitions):,} pages "
        text += f"({records / elapsed if elapsed > 0 else 0:,.0f} records/s)"
        return text + "".join(f", {ends[end]:,} {end}" for end in ENDS if ends[end])

    def _complete(self, partition: Partition) -> None:
        partition.end = "done"
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
            self._waiting_for_batch.append((partition.context, partition.bookmark))
        else:
            self._states.set_bookmark(partition.context, partition.bookmark)
            self._unsaved = True
            self._save_if_due()

    def _save_if_due(self) -> None:
        if self._unsaved and time.monotonic() - self._last_state >= self._state_interval:
            self._flush_state()

    def _fail(self, partition: Partition, error: BaseException) -> None:
        """Record one task's failure; one of the run (the workers halted already) stops it."""
        reported = error if self._v2 else self._catalog.route(error, partition.context)
        if reported is None:  # results v2 reads the task
            partition.end = "left to results v2"
            return
        error = reported
        if scope(error) != RUN_SCOPE:
            partition.end = "failed"
            self._catalog.failures.setdefault(partition.label, str(error))
            logger.warning("%s failed; the other tasks go on: %s", partition.label, error)
            # The worker may have tripped the streak while this earlier failure waited here.
            if not self._streak.tripped:
                return
            error = TapCentaurError(
                f"the API failed for {self._streak.limit} tasks in a row, so the run stops instead "
                "of trying every remaining task (finished tasks are bookmarked). Last failure: "
                f"{self._streak.last} Try again later, or raise max_consecutive_task_failures."
            )
        if self._stopped_by is not None:
            return  # the run is stopping: the first failure is the one reported
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
