"""Progress: one INFO line every few seconds across a stream's tasks, a DEBUG line per task."""

from __future__ import annotations

import time
import typing as t

from tap_centaur.clock import format_bookmark

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable
    from datetime import datetime


class ProgressLog:
    """Counts a stream's partitions, pages and records; logs at INFO at most once per interval."""

    def __init__(
        self,
        logger: logging.Logger,
        stream: str,
        *,
        total: int = 0,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Start counting now; `total` is the number of partitions to read."""
        self._logger, self._stream, self._total = logger, stream, total
        self._interval, self._clock = interval, clock
        self._started = self._last_logged = clock()
        self.pages = self.records = self.done_partitions = 0
        self.failed_partitions = self.skipped_partitions = 0  # the latter: left to results v2

    def starting(self, total: int, resumed: list[datetime], parallelism: int, start: str) -> None:
        """Start counting `total` partitions; one line for all, with how many resume and where."""
        self._total = total
        self._started = self._last_logged = self._clock()
        text = f"{total:,} partitions to read ({parallelism} at a time): "
        if resumed:
            text += (
                f"{len(resumed):,} from their bookmarks ({format_bookmark(min(resumed))}"
                f" to {format_bookmark(max(resumed))}), "
            )
        self._logger.info(
            "%s: %s%s from %s.", self._stream, text, f"{total - len(resumed):,}", start
        )

    def page(self, records: int) -> None:
        """Count one page; log if the interval has passed since the last line."""
        self.pages += 1
        self.records += records
        now = self._clock()
        if now - self._last_logged >= self._interval:
            self._last_logged = now
            self._logger.info("%s: %s so far", self._stream, self._counts(now))

    def done(self, label: str, records: int, pages: int) -> None:
        """Count a finished partition."""
        self.done_partitions += 1
        self._logger.debug("%s: done, %d records in %d pages", label, records, pages)

    def finish(self) -> None:
        """Log the stream's totals."""
        now = self._clock()
        elapsed = now - self._started
        self._logger.info("%s: finished in %.1f s: %s", self._stream, elapsed, self._counts(now))

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
