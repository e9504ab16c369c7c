"""The tap: its settings and streams, the run's shared client, its state and its signals."""

from __future__ import annotations

import io
import json
import os
import typing as t
from functools import cached_property

from tap_centaur import logs
from tap_centaur.client import ApiClient
from tap_centaur.engine import RunReport
from tap_centaur.output import BufferedMsgSpecWriter
from tap_centaur.sdk_internals import SdkTap
from tap_centaur.setting_checks import check_environment
from tap_centaur.settings import (
    CONFIG_SCHEMA,
    INTEGER_SETTINGS,
    Settings,
    draft7,
    parse_settings,
)
from tap_centaur.signals import Stopper
from tap_centaur.state import PartitionStates, normalise_state, read_state_text
from tap_centaur.streams import (
    CaseResultsStream,
    CaseResultsV2Stream,
    ProjectsStream,
    ResultsStream,
    TaskResultsStream,
    TaskResultsV2Stream,
    TasksStream,
)
from tap_centaur.tasks import TaskCatalog

if t.TYPE_CHECKING:
    from singer_sdk.streams import Stream


#: Settings in environment variables: TAP_CENTAUR_API_KEY, ... (`--config ENV`, Meltano).
ENV_PREFIX = "TAP_CENTAUR_"


class TapCentaur(SdkTap):
    """Singer tap for Centaur Labs labeling results."""

    name = "tap-centaur"
    package_name = "tap-centaur"
    config_jsonschema = CONFIG_SCHEMA
    message_writer_class = BufferedMsgSpecWriter

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:  # noqa: ANN401
        """The SDK's tap; then the tap's own signal handlers (`signals.py`).

        Raises:
            ConfigError: for an integer setting's environment variable that is not one.
        """
        if kwargs.get("parse_env_config"):
            check_environment(os.environ, ENV_PREFIX, INTEGER_SETTINGS)
        super().__init__(*args, **kwargs)
        logs.install(self.logger)
        writer = t.cast("BufferedMsgSpecWriter", self.message_writer)
        Stopper(writer, lambda: dict(self.state), self.logger).install()

    @cached_property
    def settings(self) -> Settings:
        """The config, checked and normalised (see `tap_centaur.settings`)."""
        return parse_settings(self.config)

    @cached_property
    def client(self) -> ApiClient:
        """One client for the run: one login, one retry policy, one clock check."""
        return ApiClient.create(self.settings, user_agent=f"{self.name}/{self.plugin_version}")

    @cached_property
    def report(self) -> RunReport:
        """The run's failed tasks, and its end (logout, summary) once every stream is done."""
        return RunReport(
            streams=lambda: [s.name for s in self.streams.values() if s.selected],
            on_start=self._start_early,
            on_end=self._end,
        )

    def _end(self) -> None:
        """The run is over, completed or not: its records are out, no thread goes on; log out."""
        t.cast("BufferedMsgSpecWriter", self.message_writer).flush()
        for stream in self.streams.values():
            if isinstance(stream, ResultsStream):
                stream.close()
        self.client.retry_policy.end()
        self.client.auth.logout()

    def _start_early(self) -> None:
        """Read results (and the task list) in the background from the run's first stream on.

        The SDK syncs one stream after another; the projects and tasks requests would
        otherwise come before the first results page, or after the last one.
        """
        results = self.streams["task_results"]
        if results.selected:
            t.cast("TaskResultsStream", results).start_early()
        tasks = t.cast("TasksStream", self.streams["tasks"])
        if tasks.selected and tasks.catalog is not None:
            tasks.catalog.list_early()

    @classmethod
    def invoke(cls, *, state: t.IO[str] | None = None, **kwargs: t.Any) -> None:  # noqa: ANN401
        """Run the tap's CLI, reading `--state` with a clear error for a broken file.

        Raises:
            StateError: for an empty, malformed or unreadable state file (before any request).
        """
        if state is not None:
            where = f"file '{getattr(state, 'name', 'state')}'"
            state = io.StringIO(json.dumps(read_state_text(state.read(), where)))
        super().invoke(state=state, **kwargs)

    @classmethod
    def append_builtin_config(cls, config_jsonschema: dict[str, t.Any]) -> None:
        """The SDK's built-in settings, made valid Draft 7 like the tap's own."""
        super().append_builtin_config(config_jsonschema)
        repaired = draft7(config_jsonschema)
        config_jsonschema.clear()
        config_jsonschema.update(repaired)

    def load_state(self, state: dict[str, t.Any]) -> None:
        """Check the input state, and normalise it, before any request.

        Raises:
            StateError: naming the entry that cannot be read without guessing.
        """
        super().load_state(normalise_state(state, "given with --state"))

    def discover_streams(self) -> list[Stream]:
        """The streams (the SDK runs them in the order of their names)."""
        client, report = self.client, self.report
        tasks = TasksStream(self, client, report)
        v1_states = PartitionStates(self.state, TaskResultsStream.name)
        v2_states = PartitionStates(self.state, TaskResultsV2Stream.name)
        catalog = TaskCatalog(self.settings, tasks.list_tasks, v2_states, logger=self.logger)
        tasks.catalog = catalog
        cases, cases_v2 = (
            CaseResultsStream(self, client, report, catalog),
            CaseResultsV2Stream(self, client, report, catalog),
        )
        results, results_v2 = (
            TaskResultsStream(self, client, report, catalog, v1_states),
            TaskResultsV2Stream(self, client, report, catalog, v2_states),
        )
        cases.v2_stream, results.v2_stream = cases_v2, results_v2
        return [ProjectsStream(self, client, report), tasks, cases, cases_v2, results, results_v2]
