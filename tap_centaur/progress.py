"""Progress a person can follow: one line every few seconds across all tasks, then a summary.

Per-task lines are at DEBUG, so a run over thousands of tasks logs a few lines per minute at
INFO, however many tasks it reads.
"""

from __future__ import annotations

import time
import typing as t

from tap_centaur.clock import format_bookmark

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable
    from datetime import datetime

DEFAULT_INTERVAL_SECONDS = 5.0


class ProgressLog:
    """Counts a stream's partitions, pages and records; logs at INFO at most once per interval."""

    def __init__(
        self,
        logger: logging.Logger,
        stream: str,
        *,
        total: int = 0,
        interval: float = DEFAULT_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Start counting now; `total` is the number of partitions to read."""
        self._logger = logger
        self._stream = stream
        self._total = total
        self._interval = interval
        self._clock = clock
        self._started = self._last_logged = clock()
        self.pages = self.records = 0
        self.done_partitions = self.failed_partitions = self.skipped_partitions = 0

    def starting(self, total: int, bookmarks: list[datetime], parallelism: int, start: str) -> None:
        """Start counting `total` partitions; one line for all: how many resume from a bookmark."""
        self._total = total
        self._started = self._last_logged = self._clock()
        text = f"{self._total:,} partitions to read ({parallelism} at a time): "
        if bookmarks:
            text += (
                f"{len(bookmarks):,} from their bookmarks ({format_bookmark(min(bookmarks))}"
                f" to {format_bookmark(max(bookmarks))}), "
            )
        fresh = self._total - len(bookmarks)
        self._logger.info("%s: %s%s from %s.", self._stream, text, f"{fresh:,}", start)

    def page(self, records: int) -> None:
        """Count one page; log if the interval has passed since the last line."""
        self.pages += 1
        self.records += records
        now = self._clock()
        if now - self._last_logged >= self._interval:
            self._last_logged = now
            self._logger.info("%s: %s so far", self._stream, self._counts(now))

    def done(self, label: str, records: int, pages: int) -> None:
        """Count a finished partition (its own line is at DEBUG)."""
        self.done_partitions += 1
        self._logger.debug("%s: done, %d records in %d pages", label, records, pages)

    def failed(self) -> None:
        """Count a failed partition (the engine logs why)."""
        self.failed_partitions += 1

    def skipped(self) -> None:
        """Count a partition another stream reads instead."""
        self.skipped_partitions += 1

    def finish(self) -> None:
        """Log the stream's totals."""
        now = self._clock()
        self._logger.info(
            "%s: finished in %.1f s: %s", self._stream, now - self._started, self._counts(now)
        )

    def _counts(self, now: float) -> str:
        elapsed = now - self._started
        rate = self.records / elapsed if elapsed > 0 else 0.0
        text = (
            f"{self.done_partitions:,} of {self._total:,} partitions done, "
            f"{self.records:,} records in {self.pages:,} pages ({rate:,.0f} records/s)"
        )
        if self.failed_partitions:
            text += f", {self.failed_partitions:,} failed"
        if self.skipped_partitions:
            text += f", {self.skipped_partitions:,} left to results v2"
        return text
