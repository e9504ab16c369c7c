"""Errors reported as one line, each with its exit code and scope: one task, or the run."""

from __future__ import annotations

import typing as t

from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

TASK_SCOPE: t.Final = "task"
RUN_SCOPE: t.Final = "run"
#: Failed tasks whose reasons the run's summary lists; the others are counted.
FAILURES_LISTED = 5


class TapCentaurError(Exception):
    """An error whose message, written for the person running the tap, holds no credential."""

    exit_code = 1
    scope: t.ClassVar[str] = RUN_SCOPE


class ConfigError(TapCentaurError):
    """A setting (or a --config or --catalog file) is missing, malformed or contradicts another."""

    exit_code = 2

    def __init__(self, setting: str, problem: str, fix: str = "", *, subject: str = "") -> None:
        self.setting = setting
        subject = subject or f"Invalid setting '{setting}'"
        super().__init__(f"{subject}: {problem} {fix}".rstrip())


class StateError(TapCentaurError):
    """The input state cannot be read without guessing (checked before any request)."""

    exit_code = 2

    def __init__(self, where: str, problem: str, *, in_an_entry: bool = True) -> None:
        fix = "Fix the file"
        if in_an_entry:
            fix = "Fix or remove that entry (a task without a bookmark is read from start_date)"
        super().__init__(
            f"Invalid state {where}: {problem} {fix}, or run without --state for a full sync."
        )


class CentaurAPIError(TapCentaurError, FatalAPIError):
    """The API answered in a way that retrying cannot fix (4xx, unexpected shape)."""

    scope = TASK_SCOPE


class UnsupportedTaskError(CentaurAPIError):
    """HTTP 426: this version of the results API does not serve the task's type."""


class UnauthorizedError(CentaurAPIError):
    """A 401: the token expired or was revoked. Renewed and retried when possible."""


class AccessRefusedError(CentaurAPIError):
    """A refusal of every request: credentials, token, country restriction, parameters."""

    scope = RUN_SCOPE


class OutputError(TapCentaurError):
    """The output could not be written: the target stopped reading, or the disk is full."""


class RetriesExhaustedError(TapCentaurError):
    """A transient failure (429, 5xx, reset, timeout, bad body) outlasted every retry."""

    scope = TASK_SCOPE


class TransientResponseError(RetriableAPIError):
    """A response worth retrying: 429, 5xx, or a 200 whose body could not be decoded."""

    def __init__(self, message: str, status: int | None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after  # seconds the server asked to wait


class TaskFailuresError(TapCentaurError):
    """Some tasks failed: the run's summary, after what stopped the run (`cause`), if it stopped."""

    def __init__(self, failures: dict[str, str], cause: TapCentaurError | None = None) -> None:
        listed = "; ".join(list(failures.values())[:FAILURES_LISTED])
        more = len(failures) - FAILURES_LISTED
        listed += f"; and {more} more (see the warnings above)" if more > 0 else ""
        failed = f"{len(failures)} task{'s' if len(failures) > 1 else ''} failed"
        if cause is None:
            kept = "the failed ones keep their bookmarks and are read again next run"
            super().__init__(
                f"{failed}, every other task was synced and bookmarked ({kept}): {listed}"
            )
        else:
            self.exit_code = cause.exit_code
            kept = "each keeps its bookmark and is read again next run"
            super().__init__(f"{cause} Before the run stopped, {failed} ({kept}): {listed}")


def naming_earlier_failures(error: Exception, failures: dict[str, str]) -> Exception:
    """The run's error, naming the tasks that failed before it (unless its message does)."""
    earlier = {task: reason for task, reason in failures.items() if reason not in str(error)}
    if earlier and isinstance(error, TapCentaurError) and not isinstance(error, TaskFailuresError):
        return TaskFailuresError(earlier, cause=error)
    return error


def scope(error: BaseException) -> str:
    """Whether a failure belongs to one task or to the run (anything unforeseen: the run)."""
    return error.scope if isinstance(error, TapCentaurError) else RUN_SCOPE
