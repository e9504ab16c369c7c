"""Progress a person can follow on long syncs: pages, records and rate, every few seconds."""

from __future__ import annotations

import time
import typing as t

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable

DEFAULT_INTERVAL_SECONDS = 5.0


class ProgressLog:
    """Counts a partition's pages and records; logs at INFO at most once per interval."""

    def __init__(
        self,
        logger: logging.Logger,
        label: str,
        *,
        interval: float = DEFAULT_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Start counting now."""
        self._logger = logger
        self._label = label
        self._interval = interval
        self._clock = clock
        self._started = self._last_logged = clock()
        self.pages = 0
        self.records = 0

    def page(self, records: int) -> None:
        """Count one page; log if the interval has passed since the last line."""
        self.pages += 1
        self.records += records
        now = self._clock()
        if now - self._last_logged >= self._interval:
            self._last_logged = now
            self._logger.info(
                "%s: %d pages, %d records so far (%.0f records/s)",
                self._label,
                self.pages,
                self.records,
                self._rate(now),
            )

    def finish(self) -> None:
        """Log the partition's totals."""
        now = self._clock()
        self._logger.info(
            "%s: done, %d records in %d pages (%.1f s, %.0f records/s)",
            self._label,
            self.records,
            self.pages,
            now - self._started,
            self._rate(now),
        )

    def _rate(self, now: float) -> float:
        elapsed = now - self._started
        return self.records / elapsed if elapsed > 0 else 0.0
