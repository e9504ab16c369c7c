"""The tap: its settings, its streams, and the shared authenticator and retry policy."""

from __future__ import annotations

import sys
import threading
import typing as t
from functools import cached_property

from singer_sdk import Tap
from singer_sdk import singerlib as singer

from tap_centaur.auth import CentaurAuthenticator
from tap_centaur.output import BufferedMsgSpecWriter
from tap_centaur.redaction import install_redaction, register_secret
from tap_centaur.retry import RetryPolicy
from tap_centaur.settings import CONFIG_SCHEMA, Settings, parse_settings
from tap_centaur.streams import CaseResultsStream, ProjectsStream, TasksStream
from tap_centaur.task_results import TaskResultsStream

if t.TYPE_CHECKING:
    from types import FrameType

    from singer_sdk.streams import Stream

    from tap_centaur.pages import Record


class TapCentaur(Tap):
    """Singer tap for Centaur Labs labeling results."""

    name = "tap-centaur"
    package_name = "tap-centaur"
    config_jsonschema = CONFIG_SCHEMA
    message_writer_class = BufferedMsgSpecWriter

    @cached_property
    def settings(self) -> Settings:
        """The config, checked and normalised (see `tap_centaur.settings`)."""
        settings = parse_settings(self.config)
        credentials = settings.credentials
        for secret in (credentials.api_key, credentials.api_password, credentials.bearer_token):
            register_secret(secret)
        install_redaction()
        return settings

    @cached_property
    def http_sessions(self) -> threading.local:
        """This tap's HTTP sessions, one per thread (see `CentaurStream.requests_session`)."""
        return threading.local()

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        """One retry policy for the run: a 429 pauses every request."""
        return RetryPolicy(
            max_retries=self.settings.max_retries,
            backoff_factor=self.settings.backoff_factor,
            request_timeout=self.settings.request_timeout,
        )

    @cached_property
    def authenticator(self) -> CentaurAuthenticator:
        """One authenticator for the run: one login, shared by every stream."""
        return CentaurAuthenticator(
            self.settings.credentials,
            api_url=self.settings.api_url,
            timeout=self.settings.request_timeout,
            retry_policy=self.retry_policy,
            user_agent=f"{self.name}/{self.plugin_version}",
        )

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Check our settings first, with messages naming the setting and hiding secrets.

        The SDK's JSON-schema check then covers its built-in settings (stream maps, ...).
        """
        if raise_errors:
            _ = self.settings
        return super()._validate_config(raise_errors=raise_errors)

    @cached_property
    def discovered_tasks(self) -> dict[int, Record]:
        """Every task the API lists (within project_ids), by id; read once per run."""
        tasks_stream = t.cast("TasksStream", self.streams["tasks"])
        tasks = {task["task_id"]: task for task in tasks_stream.list_tasks()}
        scope = (
            f"projects {list(self.settings.project_ids)}"
            if self.settings.project_ids
            else "all projects"
        )
        self.logger.info("Found %d tasks in %s: %s", len(tasks), scope, sorted(tasks))
        return tasks

    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """On SIGTERM/SIGINT, end the output with a STATE line and exit 0, as the SDK does.

        Unlike the SDK's handler, the STATE is written even when unchanged since the last one,
        and never in the middle of another message's line.
        """
        writer = t.cast("BufferedMsgSpecWriter", self.message_writer)
        writer.run_when_idle(self._stop_with_state)

    def _stop_with_state(self) -> None:
        self.message_writer.write_message(singer.StateMessage(value=self.state))
        self.logger.info("Stopped by a signal; the last STATE holds the tasks completed so far.")
        sys.exit(0)

    def discover_streams(self) -> list[Stream]:
        """The projects, tasks, task_results and case_results streams."""
        return [
            ProjectsStream(tap=self),
            TasksStream(tap=self),
            TaskResultsStream(tap=self),
            CaseResultsStream(tap=self),
        ]
