"""Running partitions: workers, pages in order, completion, bookmarks, STATE and failures.

A results stream hands its partitions (one per task, or per task and labeling state) to a
`PartitionRun`. Worker threads (`parallel.PartitionFetcher`) fetch `max_parallel_tasks` tasks
at a time; the SDK's thread takes every page as it arrives, whichever task it belongs to, and
yields its records to the SDK, which writes them. After a partition's last record:

- its bookmark is the earlier of the API's and this machine's clock at its first request,
  moved back by `lookback_seconds` (`clock.RequestTime.bookmark`); it goes into the state at
  once, or with BATCH messages after the BATCH that holds its records (`release_batched`);
- STATE is written at most every `state_interval_seconds` and at the end of the stream, so
  its size grows with the number of tasks, not with their square; a crash re-reads at most
  the tasks finished in the last interval (and those in progress).

A failure that belongs to one task ends that task only (its bookmark stays); the run's
summary names it and the run exits 1. A failure of the run itself (login, a refused
redirect, several tasks in a row failing on the API) stops the run at once, after a STATE
holding every finished task.
"""

from __future__ import annotations

import logging
import threading
import time
import typing as t
from dataclasses import dataclass
from datetime import timedelta
from itertools import groupby

from tap_centaur.clock import format_bookmark
from tap_centaur.errors import (
    RUN_SCOPE,
    RetriesExhaustedError,
    TapCentaurError,
)
from tap_centaur.parallel import Fetched, PartitionFailed, PartitionFetcher
from tap_centaur.progress import ProgressLog

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
    from datetime import datetime

    from tap_centaur.pages import Page, Record
    from tap_centaur.state import Context, PartitionStates


#: Failed tasks whose reasons the run's summary lists; the others are counted.
FAILURES_LISTED = 5


class PageSource(t.Protocol):
    """What a stream gives the engine: each partition's pages, from a starting point."""

    name: str

    def fetch_pages(self, context: Context, since: datetime | None) -> Generator[Page, None, None]:
        """The partition's pages of cases updated after `since`, in order (worker thread)."""
        ...


@dataclass(frozen=True)
class Partition:
    """One partition to read: its context, where the read starts, and whether that is a bookmark."""

    context: Context
    since: datetime | None
    bookmarked: bool = False

    @property
    def task_id(self) -> int:
        """The partition's task."""
        return int(self.context["task_id"])

    @property
    def label(self) -> str:
        """'task 101' or 'task 101 (Labeled)'."""
        label = f"task {self.context['task_id']}"
        if "labeling_state" in self.context:
            label += f" ({self.context['labeling_state']})"
        return label


class RunReport:
    """The run's start, its failed tasks (and cases), and its end.

    When the first stream syncs, `on_start` runs (the tap starts reading results early).
    Once every selected stream is done, the run logs out (`on_end`) and, if anything failed,
    raises the summary (exit 1).
    """

    def __init__(
        self,
        *,
        streams: Callable[[], Iterable[str]],
        on_start: Callable[[], None],
        on_end: Callable[[], None],
    ) -> None:
        """`streams()` names the streams that will run; `on_start`, `on_end` run once each."""
        self._streams = streams
        self._on_start: Callable[[], None] | None = on_start
        self._on_end = on_end
        self._finished: set[str] = set()
        self._ended = False
        self.failures: dict[str, str] = {}

    def started(self) -> None:
        """A stream begins; the first one starts the run."""
        on_start, self._on_start = self._on_start, None
        if on_start is not None:
            on_start()

    def failed(self, subject: str, reason: str) -> None:
        """Record a failed task (or case) and its one-line reason (the first one counts)."""
        self.failures.setdefault(subject, reason)

    def finished(self, stream: str) -> None:
        """A stream has read its records; after the last one, end the run."""
        self._finished.add(stream)
        if self._finished >= set(self._streams()):
            self.end()

    def raise_failures(self) -> None:
        """Once every stream has read its records: sum up the failed tasks, if any.

        Raises:
            TaskFailuresError: naming each failed task, when there is one.
        """
        if self.failures and self._finished >= set(self._streams()):
            raise TaskFailuresError(self.failures)

    def end(self) -> None:
        """End the run (log out), once, whether it completed or failed."""
        if not self._ended:
            self._ended = True
            self._on_end()


class TaskFailuresError(TapCentaurError):
    """Some tasks failed and the others were synced: the summary of the run."""

    def __init__(self, failures: dict[str, str]) -> None:
        """List each failed subject with its reason."""
        self.failures = dict(failures)
        super().__init__(
            f"{_tasks_failed(failures)}, every other task was synced and bookmarked (the "
            f"failed ones keep their bookmarks and are read again next run): {_reasons(failures)}"
        )


class ConsecutiveFailuresError(TapCentaurError):
    """The API failed for several tasks in a row: the run stops instead of trying them all."""


class RunStoppedError(TapCentaurError):
    """The run stopped for `cause` after some tasks had failed: the one line names both."""

    def __init__(self, cause: TapCentaurError, failures: dict[str, str]) -> None:
        """`cause`'s message, then each earlier failure's reason; `cause`'s exit code."""
        self.exit_code = cause.exit_code
        super().__init__(
            f"{cause} Before the run stopped, {_tasks_failed(failures)} (each keeps its "
            f"bookmark and is read again next run): {_reasons(failures)}"
        )


def _tasks_failed(failures: dict[str, str]) -> str:
    return f"{len(failures)} task{'s' if len(failures) > 1 else ''} failed"


def _reasons(failures: dict[str, str]) -> str:
    """The first failures' reasons, then how many more (each has its WARNING line above)."""
    listed = "; ".join(list(failures.values())[:FAILURES_LISTED])
    more = len(failures) - FAILURES_LISTED
    return f"{listed}; and {more} more (see the warnings above)" if more > 0 else listed


def naming_earlier_failures(error: Exception, failures: dict[str, str]) -> Exception:
    """The run's error; when tasks failed before it, one whose message names them too.

    Failures whose reason the error already gives (the last of N tasks in a row) are left out.
    """
    earlier = {task: reason for task, reason in failures.items() if reason not in str(error)}
    if earlier and isinstance(error, TapCentaurError) and not isinstance(error, RunStoppedError):
        return RunStoppedError(error, earlier)
    return error


@dataclass
class _Progress:
    """What the run has seen of one partition."""

    pages: int = 0
    records: int = 0
    bookmark: datetime | None = None


class PartitionRun:
    """Reads a stream's partitions in parallel; `records()` runs in the SDK's thread."""

    def __init__(
        self,
        source: PageSource,
        partitions: Sequence[Partition],
        *,
        states: PartitionStates,
        write_state: Callable[[], None],
        report: RunReport,
        parallelism: int,
        lookback: timedelta,
        state_interval: float,
        start_date: datetime | None,
        max_consecutive_failures: int,
        batched: bool,
        reroute: Callable[[Partition, BaseException], BaseException | None] = lambda _p, e: e,
        logger: logging.Logger,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Prepare the run; no thread starts and no request is sent until `records()`.

        `reroute(partition, error)` may take over a failed partition (e.g. a task that v1
        cannot serve goes to the v2 stream) and returns None: the partition then neither
        fails nor gets a bookmark. Otherwise it returns the error to report (the same one, or
        one that says more).
        """
        self._source = source
        self._partitions = list(partitions)
        self._states = states
        self._write_state = write_state
        self._report = report
        self._parallelism = parallelism
        self._lookback = lookback
        self._state_interval = state_interval
        self._start_date = start_date
        self._batched = batched
        self._reroute = reroute
        self._logger = logger
        self._clock = clock
        self._fetcher: PartitionFetcher[Page] | None = None
        self._stopped_by: BaseException | None = None
        self._seen: dict[int, _Progress] = {}
        self._waiting_for_batch: list[tuple[Context, datetime]] = []
        self._last_state = clock()
        self._unsaved = False  # bookmarks moved since the last STATE
        self._streak = _FailureStreak(max_consecutive_failures)
        self._progress = ProgressLog(logger, source.name, total=len(self._partitions))

    def start(self) -> None:
        """Start the workers (at most once): pages then wait, bounded, for `records()`."""
        if self._fetcher is not None or not self._partitions:
            return
        self._log_starting_points()
        tasks = [len(list(group)) for _, group in groupby(self._partitions, _task_of)]
        self._fetcher = PartitionFetcher(
            self._pages_of,
            len(self._partitions),
            parallelism=self._parallelism,
            # A task's partitions (one per labeling state) are fetched and emitted one after
            # another: a case moving between states mid-run is then emitted old version
            # first. Tasks share no case, so they may interleave.
            group_sizes=tasks,
            # Decided in the worker that saw the failure, so that no further task starts.
            recoverable=lambda error: _scope(error) != RUN_SCOPE and not self._streak.failed(error),
        )
        self._fetcher.start()

    def close(self) -> None:
        """Stop the workers (a run that ends before reading this one must not leave them)."""
        if self._fetcher is not None:
            self._fetcher.close()

    def records(self) -> Iterator[Record]:
        """Every partition's records as the workers fetch them.

        Raises:
            TapCentaurError: a failure of the whole run (after a STATE of every finished task).
        """
        self.start()
        fetcher = self._fetcher
        if fetcher is None:
            return
        try:
            for event in fetcher.events():
                if isinstance(event, Fetched):
                    yield from self._take(event.partition, event.page)
                    self._save_if_due()  # while a long task runs, finished ones are saved
                elif isinstance(event, PartitionFailed):
                    self._fail(event.partition, event.error, fetcher)
        finally:
            fetcher.close()
        self._progress.finish()
        self._flush_state()
        if self._stopped_by is not None:
            raise self._stopped_by

    def _log_starting_points(self) -> None:
        """One line for every partition, however many: how many resume from a bookmark."""
        bookmarks = [p.since for p in self._partitions if p.bookmarked and p.since is not None]
        fresh = len(self._partitions) - len(bookmarks)
        start = format_bookmark(self._start_date) if self._start_date else "the start"
        text = f"{len(self._partitions):,} partitions to read ({self._parallelism} at a time): "
        if bookmarks:
            text += (
                f"{len(bookmarks):,} from their bookmarks ({format_bookmark(min(bookmarks))}"
                f" to {format_bookmark(max(bookmarks))}), "
            )
        self._logger.info("%s: %s%s from %s.", self._source.name, text, f"{fresh:,}", start)

    def release_batched(self) -> None:
        """Bookmark the partitions whose records are now in an announced BATCH, write STATE."""
        for context, moment in self._waiting_for_batch:
            self._states.set_bookmark(context, moment)
        self._waiting_for_batch = []
        self._flush_state()

    def _pages_of(self, index: int) -> Generator[Page, None, None]:
        """A partition's pages (worker thread), re-read in full if its bookmark is impossible."""
        partition = self._partitions[index]
        pages = self._source.fetch_pages(partition.context, partition.since)
        first = next(pages, None)
        if first is None:
            return
        if (
            partition.bookmarked
            and partition.since is not None
            and first.time.is_future(partition.since)
        ):
            self._logger.warning(
                "%s: the bookmark in the input state, %s, is later than both the API's clock "
                "(%s) and this machine's (%s), so no run can have taken it; reading the task "
                "again from %s instead of trusting it.",
                partition.label,
                format_bookmark(partition.since),
                format_bookmark(first.time.server_now) if first.time.server_now else "unknown",
                format_bookmark(first.time.local_now),
                format_bookmark(self._start_date) if self._start_date else "the start",
            )
            pages.close()
            pages = self._source.fetch_pages(partition.context, self._start_date)
            first = next(pages, None)
            if first is None:
                return
        yield first
        yield from pages
        self._streak.succeeded()  # every page of the partition was fetched

    def _take(self, index: int, page: Page) -> Iterator[Record]:
        """Yield a page's records; after the partition's last page, complete it."""
        partition = self._partitions[index]
        seen = self._seen.get(index)
        if seen is None:
            seen = self._seen[index] = self._start(partition, page)
        seen.pages += 1
        seen.records += len(page.records)
        self._progress.page(len(page.records))
        for key, value in partition.context.items():  # as the SDK fills partition keys
            for record in page.records:
                record.setdefault(key, value)
        yield from page.records
        if not page.has_next:
            self._complete(partition, seen)

    def _start(self, partition: Partition, first: Page) -> _Progress:
        since = partition.since
        self._logger.debug(
            "%s: reading cases updated after %s",
            partition.label,
            format_bookmark(since) if since else "the start (full sync)",
        )
        bookmark = first.time.bookmark(self._lookback)
        return _Progress(bookmark=bookmark)

    def _complete(self, partition: Partition, seen: _Progress) -> None:
        """Every page is emitted: the partition's bookmark moves (SDK pitfall 1)."""
        self._progress.done(partition.label, seen.records, seen.pages)
        if seen.bookmark is None:
            self._logger.warning(
                "%s: the API sent no usable Date header, so the bookmark stays where it was "
                "(the next run re-reads the same cases rather than risk skipping any).",
                partition.label,
            )
            return
        if self._batched:
            self._waiting_for_batch.append((partition.context, seen.bookmark))
            return
        self._states.set_bookmark(partition.context, seen.bookmark)
        self._unsaved = True
        self._save_if_due()

    def _save_if_due(self) -> None:
        """Write STATE when a bookmark moved and state_interval_seconds have passed since."""
        if self._unsaved and self._clock() - self._last_state >= self._state_interval:
            self._flush_state()

    def _fail(self, index: int, error: BaseException, fetcher: PartitionFetcher[Page]) -> None:
        """Record one task's failure; a failure of the run stops it.

        Stopping starts no further task; those in progress finish and are bookmarked, then
        `records()` raises the run's error.
        """
        partition = self._partitions[index]
        reported = self._reroute(partition, error)
        if reported is None:
            self._progress.skipped()
            return
        error = reported
        if self._stopped_by is not None:
            return  # the run is stopping: the first failure is the one reported
        if _scope(error) == RUN_SCOPE:
            self._stop(error, fetcher)
            return
        reason = str(error)
        self._progress.failed()
        self._report.failed(partition.label, reason)
        self._logger.warning("%s failed; the other tasks go on: %s", partition.label, reason)
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
        self._last_state = self._clock()
        self._unsaved = False


class _FailureStreak:
    """Tasks failing in a row because the API itself fails (retries exhausted).

    Counted as the workers see the failures (thread-safe), tripped for good at the limit.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.tripped = False
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


def _task_of(partition: Partition) -> int:
    return partition.task_id


def _scope(error: BaseException) -> str:
    """Whether a failure belongs to one task or to the run (anything unforeseen: the run)."""
    return error.scope if isinstance(error, TapCentaurError) else RUN_SCOPE
