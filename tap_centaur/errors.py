"""Errors the tap reports to its user as one clear line (see `tap_centaur.cli`)."""

from __future__ import annotations

from singer_sdk.exceptions import FatalAPIError, RetriableAPIError


class TapCentaurError(Exception):
    """An error with a message written for the person running the tap.

    The CLI prints the message as one line and exits non-zero, without a traceback
    unless the log level is DEBUG. Messages never contain credentials.
    """

    exit_code = 1


class ConfigError(TapCentaurError):
    """A setting is missing, malformed or contradicts another one."""

    exit_code = 2

    def __init__(self, setting: str, problem: str, fix: str = "") -> None:
        """Name the setting at fault, what is wrong with it and how to fix it."""
        self.setting = setting
        message = f"Invalid setting '{setting}': {problem}"
        if fix:
            message += f" {fix}"
        super().__init__(message)


class CentaurAPIError(TapCentaurError, FatalAPIError):
    """The API answered in a way that retrying cannot fix (4xx, unexpected shape)."""


class UnsupportedTaskError(CentaurAPIError):
    """HTTP 426: v1 of the results API does not serve this task's type."""


class AuthenticationError(CentaurAPIError):
    """The API rejected the credentials or the bearer token."""


class PaginationError(CentaurAPIError):
    """The API's pagination cursor would loop, go backwards or is missing."""


class RetriesExhaustedError(TapCentaurError):
    """A transient failure (429, 5xx, reset, timeout, bad body) outlasted every retry."""


class TransientResponseError(RetriableAPIError):
    """A response worth retrying: 429, 5xx, or a 200 whose body could not be decoded."""

    def __init__(self, message: str, status: int | None, retry_after: float | None = None) -> None:
        """Keep the status and the server's requested wait (seconds) for the retry policy."""
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
