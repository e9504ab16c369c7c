"""The tap: settings, streams, shared objects, a run's start and end; the command, its log rules."""

from __future__ import annotations

import gc
import io
import json
import logging
import os
import sys
import typing as t
from contextlib import contextmanager
from functools import cache, cached_property

from singer_sdk import metrics
from singer_sdk.exceptions import SyncLifecycleSignal
from singer_sdk.logging import DEFAULT_FORMAT

from tap_centaur import setting_checks, streams
from tap_centaur.client import ApiClient
from tap_centaur.engine import ResultsSync
from tap_centaur.errors import TapCentaurError, TaskFailuresError, naming_earlier_failures
from tap_centaur.output import BufferedMsgSpecWriter, Stopper, start_thread
from tap_centaur.redaction import RedactingFilter, excerpt, redact
from tap_centaur.sdk_internals import SdkTap, read_input_file
from tap_centaur.settings import CONFIG_SCHEMA, INTEGER_SETTINGS, draft7, parse_settings
from tap_centaur.state import PARTITIONED_STREAMS, PartitionStates, normalise_state, read_state_text

if t.TYPE_CHECKING:
    from collections.abc import Generator, Sequence

    from singer_sdk.streams import Stream


#: Settings in environment variables: TAP_CENTAUR_API_KEY, ... (`--config ENV`, Meltano).
ENV_PREFIX = "TAP_CENTAUR_"
logger = logging.getLogger("tap-centaur")
_PER_REQUEST = frozenset({metrics.Metric.HTTP_REQUEST_DURATION, metrics.Metric.HTTP_REQUEST_COUNT})


class TapCentaur(SdkTap):
    """Singer tap for Centaur Labs labeling results."""

    name = "tap-centaur"
    package_name = "tap-centaur"
    config_jsonschema = CONFIG_SCHEMA
    message_writer_class = BufferedMsgSpecWriter
    _tasks: streams.TaskCatalog  # the run's shared objects, made with the streams
    _syncs: tuple[ResultsSync, ResultsSync]

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:  # noqa: ANN401
        if kwargs.get("parse_env_config"):
            setting_checks.check_environment(os.environ, ENV_PREFIX, INTEGER_SETTINGS)
        super().__init__(*args, **kwargs)
        install_log_rules()
        self._writer = t.cast("BufferedMsgSpecWriter", self.message_writer)
        Stopper(self._writer, lambda: dict(self.state), self.logger).install()

    @cached_property
    def client(self) -> ApiClient:
        """One client for the run (its settings, one login, one retry policy, one clock check)."""
        settings = parse_settings(self.config)
        return ApiClient(settings, user_agent=f"{self.name}/{self.plugin_version}")

    @contextmanager
    def running(self, *, dry_run: bool) -> Generator[None, None, None]:
        """A run's start and end (docs/DESIGN.md); last, the failed tasks' `TaskFailuresError`."""
        if dry_run:
            self.client.retry_policy.check_connection_quickly()
        else:
            if self.streams["task_results"].selected:
                self._syncs[0].start_early()
            if self.streams["tasks"].selected:  # a failure there is retried on use
                start_thread(self._tasks.listed, "tap-centaur-tasks")
        try:
            yield
        except Exception as error:
            stopped = naming_earlier_failures(error, self._tasks.failures)
            if stopped is error:
                raise
            raise stopped from error
        finally:  # completed or not: the records out, no thread going on, logged out
            self._writer.flush()
            for sync in self._syncs:
                sync.close()
            self.client.retry_policy.end()
            self.client.auth.logout()
        if self._tasks.failures and not dry_run:
            raise TaskFailuresError(self._tasks.failures)

    @classmethod
    def invoke(cls, *, state: t.IO[str] | None = None, **kwargs: t.Any) -> None:  # noqa: ANN401
        """Run the tap's CLI; a broken `--state` or `--catalog` file is refused before a request."""
        if state is not None and not kwargs.get("about"):  # `--about` reads neither file
            where = f"file '{excerpt(getattr(state, 'name', 'state'))}'"
            state = io.StringIO(json.dumps(read_state_text(state.read, where)))
        if (catalog := kwargs.get("catalog")) is not None and not kwargs.get("about"):
            read = cache(catalog.read)  # read once, within the check (it may not be UTF-8)
            read_input_file(catalog.name, read, catalog=True)
            kwargs["catalog"] = io.StringIO(read())
        super().invoke(state=state, **kwargs)

    @classmethod
    def append_builtin_config(cls, config_jsonschema: dict[str, t.Any]) -> None:
        """The SDK's built-in settings, made valid Draft 7 like the tap's own."""
        super().append_builtin_config(config_jsonschema)
        config_jsonschema.update(draft7(config_jsonschema))  # the same keys, repaired

    def load_state(self, state: dict[str, t.Any]) -> None:
        """Check the input state, and normalise it, before any request (`StateError`)."""
        super().load_state(normalise_state(state, "given with --state"))

    def discover_streams(self) -> list[Stream]:
        """The streams (the SDK runs them in the order of their names) and what they share."""
        client = self.client
        tasks = streams.TasksStream(self, client)
        v1, v2 = streams.TaskResultsStream(self, client), streams.TaskResultsV2Stream(self, client)
        v2_states = PartitionStates(self.state, v2.name)
        catalog = streams.TaskCatalog(
            client.settings, tasks.list_tasks, v2_states, lambda name: self.streams[name].selected
        )
        for stream, states in ((v1, PartitionStates(self.state, v1.name)), (v2, v2_states)):
            stream.results = ResultsSync(
                stream, catalog, states, lambda: self.state_writer.write_state(self.state)
            )
        cases = [streams.CaseResultsStream(self, client), streams.CaseResultsV2Stream(self, client)]
        tasks.catalog = cases[0].catalog = cases[1].catalog = catalog
        self._tasks, self._syncs = catalog, (v1.results, v2.results)
        return [streams.ProjectsStream(self, client), tasks, *cases, v1, v2]


class TapLogRules(logging.Filter):
    """The tap's rules for other loggers' lines (below DEBUG: the tap logger's level)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether to keep `record` (a library's line cut)."""
        # `Stream.sync`'s line as it re-raises repeats the tap's one line, or is wrong (`--test`).
        if record.msg == "An unhandled error occurred while syncing '%s'" and isinstance(
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


def install_log_rules() -> None:
    """Attach the tap's filters to every handler of the root logger (once each)."""
    for handler in logging.getLogger().handlers:
        # Masking last: it renders the message, and the rules read the record's arguments.
        for new in (TapLogRules(), RedactingFilter()):
            if not any(type(existing) is type(new) for existing in handler.filters):
                handler.addFilter(new)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the tap; on failure log one line (a traceback only at DEBUG) and exit non-zero."""
    if argv is None:  # the command: an exiting process need not collect the imports' objects
        gc.freeze()
    try:
        # Before the SDK sets up its logging with it.
        setting_checks.check_log_level(os.environ, ENV_PREFIX)
        TapCentaur.cli.main(args=list(argv) if argv is not None else None)
    except TapCentaurError as exc:
        _fail(str(exc), exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: still one clear line
        _fail(
            f"Unexpected error ({type(exc).__name__}): {excerpt(str(exc))}. Rerun with "
            "TAP_CENTAUR_LOGLEVEL=DEBUG for a traceback and report it.",
            1,
        )


def _fail(message: str, exit_code: int) -> t.NoReturn:
    logging.basicConfig(format=DEFAULT_FORMAT, style="{")  # no-op once the SDK set up logging
    logger.error(redact(message))
    logger.debug("Traceback of the error above:", exc_info=True)
    sys.exit(exit_code)
