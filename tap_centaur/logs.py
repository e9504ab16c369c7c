"""What reaches the log: no secret, one ERROR line per failure, a log that scales with tasks."""

from __future__ import annotations

import logging
import sys

from singer_sdk import metrics
from singer_sdk.exceptions import SyncLifecycleSignal

from tap_centaur.errors import TapCentaurError
from tap_centaur.redaction import RedactingFilter, excerpt
from tap_centaur.state import PARTITIONED_STREAMS

#: The SDK's line before re-raising an error from a stream's sync (singer_sdk.Stream.sync).
SDK_SYNC_ERROR = "An unhandled error occurred while syncing '%s'"
logger = logging.getLogger("tap-centaur")
_PER_REQUEST = frozenset({metrics.Metric.HTTP_REQUEST_DURATION, metrics.Metric.HTTP_REQUEST_COUNT})


class TapLogRules(logging.Filter):
    """The tap's rules for other loggers' lines (below DEBUG: the tap logger's level)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether to keep `record` (a library's line cut)."""
        # The SDK's line repeats the tap's error (the CLI's one line), or is wrong (`--test`).
        if record.msg == SDK_SYNC_ERROR and isinstance(
            sys.exc_info()[1], (TapCentaurError, SyncLifecycleSignal)
        ):
            return False
        debug = logger.isEnabledFor(logging.DEBUG)
        point = record.args[0] if isinstance(record.args, tuple) and record.args else None
        # The results streams' per-request METRIC points would be two lines per task.
        if isinstance(point, metrics.Point) and point.metric in _PER_REQUEST and not debug:
            return point.tags.get(metrics.Tag.STREAM) not in PARTITIONED_STREAMS
        # A library's line (urllib3 logs any header it cannot parse, whole) is server text.
        if not record.name.startswith((logger.name, "singer_sdk")):
            record.msg, record.args = excerpt(record.getMessage()), None
            if not debug:
                record.exc_info = record.exc_text = None
        return True


def install() -> None:
    """Attach the tap's filters to every handler of the root logger (once each)."""
    for handler in logging.getLogger().handlers:
        # Masking last: it renders the message, and the rules read the record's arguments.
        for new in (TapLogRules(), RedactingFilter()):
            if not any(type(existing) is type(new) for existing in handler.filters):
                handler.addFilter(new)
