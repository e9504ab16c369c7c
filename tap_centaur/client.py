"""The API client: how every request is sent, signed, retried and checked, for every stream."""

from __future__ import annotations

import sys
import typing as t
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_centaur.auth import CentaurAuth
from tap_centaur.clock import SkewWatch
from tap_centaur.errors import (
    AccessRefusedError,
    CentaurAPIError,
    TransientResponseError,
    UnauthorizedError,
    UnsupportedTaskError,
)
from tap_centaur.pages import Page, body_excerpt, error_body, request_label, server_message
from tap_centaur.pagination import Cursor, SequenceIdPaginator
from tap_centaur.redaction import excerpt
from tap_centaur.retry import RetryPolicy
from tap_centaur.sdk_internals import SdkStream
from tap_centaur.session import ApiSession, SessionPerThread

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    import requests
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_centaur.pages import Record
    from tap_centaur.schemas import RecordShape
    from tap_centaur.settings import Settings


@dataclass
class ApiClient:
    """What every request of a run shares: settings, sessions, the login and the retry policy."""

    settings: Settings
    sessions: SessionPerThread
    auth: CentaurAuth
    retry_policy: RetryPolicy
    skew: SkewWatch

    @classmethod
    def create(cls, settings: Settings, user_agent: str) -> ApiClient:
        """One client for a run: one login and one retry policy shared by every stream."""

        def new_session() -> ApiSession:
            session = ApiSession(
                settings.api_url, settings.request_timeout, settings.max_response_mb
            )
            session.headers["User-Agent"] = user_agent
            return session

        sessions = SessionPerThread(new_session)
        retry_policy = RetryPolicy(
            max_retries=settings.max_retries,
            backoff_factor=settings.backoff_factor,
            request_timeout=settings.request_timeout,
        )
        auth = CentaurAuth(
            settings.credentials,
            api_url=settings.api_url,
            new_session=new_session,
            retry_policy=retry_policy,
        )
        return cls(settings, sessions, auth, retry_policy, SkewWatch())


class CentaurStream(SdkStream):
    """A stream of the Centaur API. Subclasses declare path, schema, keys and record shape."""

    #: The shape every record must have (checked as the page is decoded, once).
    shape: t.ClassVar[RecordShape]
    #: A paginated `list` endpoint (else a `get` of one record).
    listed: t.ClassVar[bool] = True
    #: Records are type-checked against the schema as they are decoded (`pages.check_record`),
    #: so the SDK's per-record conformance pass is skipped.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    #: Never the SDK's STATE every 10,000 records (it would repeat every partition's bookmark):
    #: STATE comes from the engine, at most every state_interval_seconds, and at stream ends.
    STATE_MSG_FREQUENCY = sys.maxsize

    def __init__(self, tap: Tap, client: ApiClient) -> None:
        """A stream of `tap` sending its requests through `client`; schema and keys: `shape`."""
        self.client = client
        self.owner = tap
        super().__init__(tap=tap, schema=self.shape.schema)
        self.primary_keys = self.shape.keys

    @property
    def settings(self) -> Settings:
        """The tap's checked settings."""
        return self.client.settings

    @property
    def url_base(self) -> str:
        """The configured API URL."""
        return self.settings.api_url

    @property
    def requests_session(self) -> requests.Session:
        """This thread's session: bound to api_url's origin, answers bounded in time."""
        return self.client.sessions.get()

    @property
    def authenticator(self) -> CentaurAuth:
        """The run's authenticator, shared by all streams (one login per run)."""
        return self.client.auth

    @property
    def timeout(self) -> int:
        """Seconds a request may take (request_timeout; fractions are kept)."""
        return t.cast("int", self.settings.request_timeout)

    @property
    def http_headers(self) -> dict[str, str]:
        """Headers of every request (the authenticator adds the credentials)."""
        return {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Accept-Encoding": "gzip",
        }

    def get_new_paginator(self) -> SequenceIdPaginator | None:
        """List endpoints page with `last_sequence_id` and `has_next`."""
        return SequenceIdPaginator(self.settings.max_empty_pages) if self.listed else None

    def get_url_params(
        self, context: Context | None, next_page_token: Cursor | None
    ) -> dict[str, t.Any]:
        """The context's filters, the page size and the cursor."""
        params: dict[str, t.Any] = dict(context or {})
        if self.listed and self.settings.page_size is not None:
            params["limit"] = self.settings.page_size
        if next_page_token is not None:
            params["last_sequence_id"] = next_page_token.value
        return params

    def request_decorator(
        self, func: Callable[[requests.PreparedRequest, Context | None], requests.Response]
    ) -> Callable[[requests.PreparedRequest, Context | None], requests.Response]:
        """Retry transient failures; after a 401, log in again and re-send (see `auth`)."""

        def where(request: requests.PreparedRequest, _context: Context | None) -> str:
            return request_label(request)

        return self.client.retry_policy.wrap(self.client.auth.renewing(func), where)

    def parse_response(self, response: requests.Response) -> Iterable[Record]:
        """The page's records (decoded once, in `validate_response`)."""
        return Page.of(response).records

    def validate_response(self, response: requests.Response) -> None:
        """Raise the right error for a non-200 answer; decode and check a 200 answer.

        Raises:
            TransientResponseError: 429, 5xx, or a 200 body that is not JSON (retried).
            UnauthorizedError: 401 (token renewed and request retried).
            CentaurAPIError: any other error, with a message saying what to do.
        """
        status = response.status_code
        if status == 200:
            page = Page.read(response, self.shape, listed=self.listed)
            self.client.skew.observe(page.time)
            return
        where = request_label(response.request)
        if status == 429 or status >= 500:
            raise TransientResponseError(
                f"{where}: HTTP {status} {excerpt(response.reason or '', 80)}".rstrip()
                + f" ({body_excerpt(response)})",
                status=status,
                retry_after=self.client.retry_policy.retry_after(response)
                if status == 429
                else None,
            )
        if status == 401:
            raise UnauthorizedError(f"{where}: HTTP 401 Unauthorized")
        if status == 426:
            raise UnsupportedTaskError(self.client_error_message(response, where))
        if status in (400, 422) or (
            status == 403 and error_body(response).get("code") == "restricted_country"
        ):
            raise AccessRefusedError(self.client_error_message(response, where))
        raise CentaurAPIError(self.client_error_message(response, where))

    def client_error_message(self, response: requests.Response, where: str) -> str:
        """One line for a 4xx answer: what the server said and what to do."""
        status = response.status_code
        message = server_message(response)
        if status in (400, 422):
            sent = dict(parse_qsl(urlsplit(response.request.url or "").query))
            return (
                f"{where}: the API rejected the request (HTTP {status}: {message}). Parameters "
                f"sent: {sent}. Check task_ids, labeling_state, start_date and page_size."
            )
        if status == 403:
            return (
                f"{where}: the API refused access (HTTP 403: {message}). Centaur restricts API "
                "access by country and by account permissions; check both."
            )
        if status == 426:
            return (
                f"{where}: this version of the results API does not serve this task's type "
                f"(HTTP 426: {message})."
            )
        return f"{where}: the API answered HTTP {status}: {message}."
