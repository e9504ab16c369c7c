"""What reaches the log: no secret, one ERROR line per failure, a log that scales with tasks.

Filters on the root logger's handlers (where the SDK's console handler writes):

- `redaction.RedactingFilter` masks every credential;
- the SDK logs "An unhandled error occurred while syncing '<stream>'" before re-raising any
  error; for the tap's own errors, which the CLI reports as one clear line, that line only
  repeats the failure, and for the SDK's deliberate stops (`--test`) it is wrong: dropped;
- the SDK's per-request and per-partition METRIC points of the results streams
  (`http_request_duration`, `http_request_count`) are kept at DEBUG only: a run over
  thousands of tasks would otherwise log two lines per task;
- a library's line (urllib3 quotes a header it cannot parse) is cut like server text, and its
  traceback kept for DEBUG runs.
"""

from __future__ import annotations

import logging
import sys

from singer_sdk import metrics
from singer_sdk.exceptions import SyncLifecycleSignal

from tap_centaur.errors import TapCentaurError
from tap_centaur.redaction import RedactingFilter, excerpt

#: The SDK's line before re-raising an error from a stream's sync (singer_sdk.Stream.sync).
SDK_SYNC_ERROR = "An unhandled error occurred while syncing '%s'"
RESULTS_STREAMS = frozenset({"task_results", "task_results_v2"})
_PER_REQUEST = frozenset({metrics.Metric.HTTP_REQUEST_DURATION, metrics.Metric.HTTP_REQUEST_COUNT})


class DropRepeatedError(logging.Filter):
    """Drops the SDK's generic error line for the tap's own errors and the SDK's own stops.

    The CLI reports the tap's errors in one line; a stream the SDK stops on purpose (the
    connection check reads one record per stream) has not failed.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but that one."""
        if record.msg == SDK_SYNC_ERROR:
            return not isinstance(sys.exc_info()[1], (TapCentaurError, SyncLifecycleSignal))
        return True


class QuietRequestMetrics(logging.Filter):
    """Keeps the results streams' per-request metrics for DEBUG runs only."""

    def __init__(self, tap_logger: logging.Logger) -> None:
        """Follow `tap_logger`'s level (TAP_CENTAUR_LOGLEVEL)."""
        super().__init__()
        self._tap_logger = tap_logger

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop a per-request point of a results stream unless the tap logs at DEBUG."""
        point = record.args[0] if isinstance(record.args, tuple) and record.args else None
        if (
            isinstance(point, metrics.Point)
            and point.metric in _PER_REQUEST
            and point.tags.get(metrics.Tag.STREAM) in RESULTS_STREAMS
        ):
            return self._tap_logger.isEnabledFor(logging.DEBUG)
        return True


class BoundLibraryLines(logging.Filter):
    """Cuts a library's line like server text; keeps its traceback for DEBUG runs only.

    urllib3 logs a header it cannot parse whole (any length, whatever the server sent), with a
    traceback, at WARNING.
    """

    def __init__(self, tap_logger: logging.Logger) -> None:
        """Follow `tap_logger`'s level (TAP_CENTAUR_LOGLEVEL)."""
        super().__init__()
        self._tap_logger = tap_logger

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record; one not of the tap or the SDK cut, without traceback unless DEBUG."""
        if not record.name.startswith((self._tap_logger.name, "singer_sdk")):
            record.msg, record.args = excerpt(record.getMessage()), None
            if not self._tap_logger.isEnabledFor(logging.DEBUG):
                record.exc_info = record.exc_text = None
        return True


def install(tap_logger: logging.Logger) -> None:
    """Attach the filters to every handler of the root logger (once each)."""
    for handler in logging.getLogger().handlers:
        # Masking last: it renders the message, and the others read the record's arguments.
        for new in (
            DropRepeatedError(),
            QuietRequestMetrics(tap_logger),
            BoundLibraryLines(tap_logger),
            RedactingFilter(),
        ):
            if not any(type(existing) is type(new) for existing in handler.filters):
                handler.addFilter(new)
