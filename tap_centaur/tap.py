"""The tap: its settings and streams, the run's shared objects, and the run's start and end."""

from __future__ import annotations

import io
import json
import os
import typing as t
from contextlib import contextmanager
from functools import cached_property

from tap_centaur import logs
from tap_centaur.client import ApiClient
from tap_centaur.engine import Endpoint, ResultsSync
from tap_centaur.errors import TaskFailuresError, naming_earlier_failures
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
    from collections.abc import Generator

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
        Stopper(self._writer, lambda: dict(self.state), self.logger).install()

    @property
    def _writer(self) -> BufferedMsgSpecWriter:
        return t.cast("BufferedMsgSpecWriter", self.message_writer)

    @cached_property
    def settings(self) -> Settings:
        """The config, checked and normalised (see `tap_centaur.settings`)."""
        return parse_settings(self.config)

    @cached_property
    def client(self) -> ApiClient:
        """One client for the run: one login, one retry policy, one clock check."""
        return ApiClient.create(self.settings, user_agent=f"{self.name}/{self.plugin_version}")

    @contextmanager
    def running(self, *, dry_run: bool) -> Generator[None, None, None]:
        """A run: results start early, the SDK syncs each stream, then the run ends.

        The SDK syncs one stream after another; the results workers and the task list start
        first, so the projects and tasks requests do not delay the first results page. A dry
        run (the connection check, `--test`) gives up quickly on an unreachable API. The
        failed tasks' summary comes last, after every other task's records, BATCH and STATE.

        Raises:
            TaskFailuresError: naming each failed task, when there is one (exit 1).
        """
        if dry_run:
            self.client.retry_policy.check_connection_quickly()
        else:
            if self.streams["task_results"].selected:
                self._results("task_results").start_early()
            if self.streams["tasks"].selected:
                self._tasks.list_early()
        try:
            yield
        except Exception as error:
            stopped = naming_earlier_failures(error, self._tasks.failures)
            if stopped is error:
                raise
            raise stopped from error
        finally:
            self._end()
        if self._tasks.failures and not dry_run:
            raise TaskFailuresError(self._tasks.failures)

    def _end(self) -> None:
        """The run is over, completed or not: its records are out, no thread goes on; log out."""
        self._writer.flush()
        for name in ("task_results", "task_results_v2"):
            self._results(name).close()
        self.client.retry_policy.end()
        self.client.auth.logout()

    def _results(self, name: str) -> ResultsSync:
        return t.cast("ResultsStream", self.streams[name]).results

    @property
    def _tasks(self) -> TaskCatalog:
        return t.cast("TasksStream", self.streams["tasks"]).catalog

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
        """The streams (the SDK runs them in the order of their names) and what they share."""
        client = self.client
        tasks = TasksStream(self, client)
        results = [TaskResultsStream(self, client), TaskResultsV2Stream(self, client)]
        states = {stream.name: PartitionStates(self.state, stream.name) for stream in results}
        catalog = TaskCatalog(
            self.settings,
            tasks.list_tasks,
            states[TaskResultsV2Stream.name],
            selected=lambda name: self.streams[name].selected,
            logger=self.logger,
        )
        for stream in results:
            stream.results = ResultsSync(
                Endpoint(stream.name, stream.path, stream.shape, v2=stream.name.endswith("v2")),
                client,
                catalog,
                states[stream.name],
                write_state=lambda: self.state_writer.write_state(self.state),
                batched=bool(self.config.get("batch_config")),
                logger=self.logger,
            )
        cases = [CaseResultsStream(self, client), CaseResultsV2Stream(self, client)]
        tasks.catalog = cases[0].catalog = cases[1].catalog = catalog
        return [ProjectsStream(self, client), tasks, *cases, *results]
