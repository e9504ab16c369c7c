"""The base stream: how every request to the Centaur API is sent, retried and checked."""

from __future__ import annotations

import typing as t
from functools import cached_property
from urllib.parse import parse_qsl, urlsplit

import requests
from singer_sdk import singerlib as singer
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams import RESTStream

from tap_centaur.errors import (
    AuthenticationError,
    CentaurAPIError,
    TransientResponseError,
    UnsupportedTaskError,
)
from tap_centaur.output import BufferedMsgSpecWriter
from tap_centaur.pages import body_excerpt, request_label

if t.TYPE_CHECKING:
    from collections.abc import Generator

    from singer_sdk.helpers.types import Context

    from tap_centaur.auth import CentaurAuthenticator
    from tap_centaur.pages import Record
    from tap_centaur.retry import RetryPolicy
    from tap_centaur.settings import Settings
    from tap_centaur.tap import TapCentaur

RequestFunc = t.Callable[["requests.PreparedRequest", "Context | None"], "requests.Response"]


#: Logins in a row for one request whose retries keep answering 401.
MAX_RENEWALS_PER_REQUEST = 3


class UnauthorizedError(CentaurAPIError):
    """A 401: the token expired or was revoked. Renewed and retried when possible."""


class CentaurStream(RESTStream["int | None"]):
    """A stream of the Centaur API, signed by the tap's shared authenticator."""

    #: Records are type-checked against the schema as they are decoded
    #: (`tap_centaur.pages.check_record`), so the SDK's per-record conformance pass is skipped.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    @property
    def requests_session(self) -> requests.Session:
        """One HTTP session (keep-alive connection pool) per thread and tap: never shared.

        A session kept per thread for the whole process would hand one tap's connections to
        the next tap run in the same thread (connected to whatever server they were opened to).
        """
        sessions = self._centaur_tap.http_sessions
        session: requests.Session | None = getattr(sessions, "session", None)
        if session is None:
            session = sessions.session = requests.Session()
        return session

    @property
    def _centaur_tap(self) -> TapCentaur:
        return t.cast("TapCentaur", self._tap)

    @property
    def settings(self) -> Settings:
        """The tap's checked settings."""
        return self._centaur_tap.settings

    @property
    def url_base(self) -> str:
        """The configured API URL."""
        return self.settings.api_url

    @property
    def http_headers(self) -> dict[str, str]:
        """Headers of every request (the authenticator adds the credentials)."""
        return {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Accept-Encoding": "gzip",
        }

    @property
    def timeout(self) -> int:
        """Seconds to wait for an answer (request_timeout; fractions are kept)."""
        return t.cast("int", self.settings.request_timeout)

    @property
    def authenticator(self) -> CentaurAuthenticator:
        """The tap's authenticator, shared by all streams (one login per run)."""
        return self._centaur_tap.authenticator

    @property
    def retry_policy(self) -> RetryPolicy:
        """The tap's retry policy, shared by all streams (one 429 pauses them all)."""
        return self._centaur_tap.retry_policy

    def finalize_state_progress_markers(self, state: dict[str, t.Any] | None = None) -> None:
        """Finish the stream's state as the SDK does, then write out buffered RECORDs.

        The SDK writes no STATE when nothing changed, and only a non-RECORD message flushes
        the output buffer (`output.py`): without this, a run whose bookmarks did not move
        would end with its last records unwritten.
        """
        super().finalize_state_progress_markers(state)
        writer = self._tap.message_writer
        if isinstance(writer, BufferedMsgSpecWriter):
            writer.flush()

    @cached_property
    def _every_property_selected(self) -> bool:
        return all(self.mask.values())

    def _generate_record_messages(
        self, record: Record
    ) -> Generator[singer.RecordMessage, None, None]:
        """The SDK's RECORD messages, minus its walk of the selection mask for every record.

        That walk removes deselected properties and was the largest cost on the record
        path (docs/PERFORMANCE.md); when the catalog selects every property it removes
        nothing, so it is skipped. Stream maps still apply as in the SDK.
        """
        if not self._every_property_selected:
            yield from super()._generate_record_messages(record)
            return
        for stream_map in self.stream_maps:
            mapped_record = stream_map.transform(record)
            if mapped_record is not None:
                yield singer.RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped_record,
                    version=self._stream_version,
                    time_extracted=utc_now(),
                )

    def request_decorator(self, func: RequestFunc) -> RequestFunc:
        """Retry transient failures; after each 401, renew the token and retry the request.

        Each rejected attempt gets one renewal. Parallel workers share the token, so a fresh
        token can expire again before a worker's retry is sent (the API expires tokens after
        inactivity); past `MAX_RENEWALS_PER_REQUEST` consecutive rejections the run stops.
        """

        def send_signed_in(
            prepared_request: requests.PreparedRequest, context: Context | None
        ) -> requests.Response:
            for _ in range(MAX_RENEWALS_PER_REQUEST):
                try:
                    return func(prepared_request, context)
                except UnauthorizedError:
                    rejected = self.authenticator.token_of(prepared_request)
                    self.authenticator.renew(rejected, request_label(prepared_request))
            try:
                return func(prepared_request, context)
            except UnauthorizedError:
                raise AuthenticationError(
                    f"{request_label(prepared_request)}: the API answered 401 even with a "
                    f"fresh token ({MAX_RENEWALS_PER_REQUEST} logins in a row). Check that "
                    "api_key belongs to the same organisation as username."
                ) from None

        def where(prepared_request: requests.PreparedRequest, _context: Context | None) -> str:
            return request_label(prepared_request)

        return self.retry_policy.wrap(send_signed_in, where)

    def validate_response(self, response: requests.Response) -> None:
        """Raise the right error for a non-200 answer, or for a 200 that is not usable.

        Raises:
            TransientResponseError: 429, 5xx, or a 200 body that is not JSON (retried).
            UnauthorizedError: 401 (token renewed and request retried).
            CentaurAPIError: any other error, with a message saying what to do.
        """
        status = response.status_code
        if status == 200:
            self.decode(response)
            return
        where = request_label(response.request)
        if status == 429 or status >= 500:
            raise TransientResponseError(
                f"{where}: HTTP {status} {response.reason or ''}".rstrip()
                + f" ({body_excerpt(response)})",
                status=status,
                retry_after=self.retry_policy.retry_after(response) if status == 429 else None,
            )
        if status == 401:
            raise UnauthorizedError(f"{where}: HTTP 401 Unauthorized")
        if status == 426:
            raise UnsupportedTaskError(self.client_error_message(response, where))
        raise CentaurAPIError(self.client_error_message(response, where))

    def decode(self, response: requests.Response) -> None:
        """Decode and check a 200 answer's body (once; the result is cached)."""

    def client_error_message(self, response: requests.Response, where: str) -> str:
        """One line for a 4xx answer: what the server said and what to do."""
        status = response.status_code
        message = _server_message(response)
        if status == 400:
            sent = dict(parse_qsl(urlsplit(response.request.url or "").query))
            return (
                f"{where}: the API rejected the request (HTTP 400: {message}). Parameters sent: "
                f"{sent}. Check task_ids, labeling_state, start_date and page_size."
            )
        if status == 403:
            return (
                f"{where}: the API refused access (HTTP 403: {message}). Centaur restricts API "
                "access by country and by account permissions; check both."
            )
        if status == 426:
            return (
                f"{where}: v1 of the results API does not serve this task's type (HTTP 426: "
                f"{message}). Remove the task from task_ids; its results need "
                "/results/public/v2/list, which this tap does not read yet."
            )
        return f"{where}: the API answered HTTP {status}: {message}."


def _server_message(response: requests.Response) -> str:
    """The server's `message` (and `code`) from an error body, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        code = body.get("code")
        return f"{body['message']} [{code}]" if isinstance(code, str) else body["message"]
    return body_excerpt(response)
