"""The API client: one call fetches and checks a page; pages follow `last_sequence_id`."""

from __future__ import annotations

import typing as t
from datetime import datetime

import requests
from singer_sdk import metrics

from tap_centaur.auth import CentaurAuth
from tap_centaur.clock import UTC, RequestTime, SkewWatch
from tap_centaur.errors import CentaurAPIError
from tap_centaur.pages import Page, check_status, request_label
from tap_centaur.retry import RetryPolicy
from tap_centaur.session import ApiSession, SessionPerThread

if t.TYPE_CHECKING:
    from collections.abc import Generator, Mapping

    from tap_centaur.schemas import RecordShape
    from tap_centaur.settings import Settings

HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


class SequenceIdPaginator:
    """The next `last_sequence_id` after a page; a missing, stuck or endless cursor is an error."""

    def __init__(self, max_empty_pages: int) -> None:
        self.max_empty_pages = max_empty_pages
        self.cursor: int | None = None
        self._empty_pages = 0  # in a row, up to this page

    def get_next(self, page: Page) -> int | None:
        """The cursor of the page after `page`, None after the last one (or CentaurAPIError)."""
        if not page.has_next:
            return None
        cursor, where = page.cursor, page.where
        if cursor is None:
            raise CentaurAPIError(
                f"{where}: the API said has_next=true but sent no last_sequence_id; stopping "
                "rather than skipping the rest of the task (it keeps its bookmark)."
            )
        if self.cursor is not None and cursor <= self.cursor:
            raise CentaurAPIError(
                f"{where}: the API's cursor went from last_sequence_id={self.cursor} to {cursor} "
                "instead of moving forward; stopping rather than looping (it keeps its bookmark)."
            )
        self._empty_pages = 0 if page.records else self._empty_pages + 1
        if self._empty_pages >= self.max_empty_pages:
            raise CentaurAPIError(
                f"{where}: {self._empty_pages:,} pages in a row brought no record while the API "
                f"said has_next=true; stopping (max_empty_pages={self.max_empty_pages:,}; the "
                "task keeps its bookmark). Raise it for a labeling_state filter over a huge task."
            )
        self.cursor = cursor
        return cursor


class ApiClient:
    """What every request of a run shares: settings, sessions, the login and the retry policy."""

    def __init__(self, settings: Settings, user_agent: str) -> None:
        """One client for a run: one login and one retry policy shared by every stream."""
        self.settings, self._user_agent = settings, user_agent
        self.skew = SkewWatch()  # one clock warning per run
        self.retry_policy = RetryPolicy(
            max_retries=settings.max_retries,
            backoff_factor=settings.backoff_factor,
            request_timeout=settings.request_timeout,
        )
        self.auth = CentaurAuth(settings, self._new_session(), self.retry_policy)
        self.sessions = SessionPerThread(self._new_session)

    def _new_session(self) -> ApiSession:
        settings = self.settings
        session = ApiSession(settings.api_url, settings.request_timeout, settings.max_response_mb)
        session.headers["User-Agent"] = self._user_agent
        return session

    def pages(
        self, path: str, params: Mapping[str, t.Any], shape: RecordShape, *, stream: str
    ) -> Generator[Page, None, None]:
        """Every page of a `list` endpoint, in order, following `last_sequence_id`; or a `get`."""
        paginator = SequenceIdPaginator(self.settings.max_empty_pages)
        listed = path.endswith("/list")
        query = dict(params)
        if listed and self.settings.page_size is not None:
            query["limit"] = self.settings.page_size
        with metrics.http_request_counter(stream, path) as counter:
            while True:
                page = self.fetch_page(path, query, shape, stream=stream)
                counter.increment()
                yield page
                cursor = paginator.get_next(page) if listed else None
                if cursor is None:
                    return
                query["last_sequence_id"] = cursor

    def fetch_page(
        self, path: str, query: Mapping[str, t.Any], shape: RecordShape, *, stream: str
    ) -> Page:
        """Send one GET (signed, renewed after a 401, retried) and return its checked page."""
        session = self.sessions.session
        request = session.prepare_request(
            requests.Request("GET", self.settings.api_url + path, params=query, headers=HEADERS)
        )
        where = request_label(request)

        def send() -> Page:
            self.auth(request)
            tags = {metrics.Tag.STREAM: stream, metrics.Tag.ENDPOINT: path}
            with metrics.Timer(metrics.Metric.HTTP_REQUEST_DURATION, tags) as timer:
                response = session.send(request, timeout=self.settings.request_timeout)
                timer.tags[metrics.Tag.HTTP_STATUS_CODE] = response.status_code
                if not response.ok:  # else the timer's own SUCCEEDED
                    timer.tags[metrics.Tag.STATUS] = metrics.Status.FAILED
            check_status(response, where)
            headers_at = timer.start_time + response.elapsed.total_seconds()
            moment = RequestTime.of(response, datetime.fromtimestamp(headers_at, UTC))
            page = Page.read(response, shape, moment, listed=path.endswith("/list"))
            self.skew.observe(page.time)
            return page

        return self.retry_policy.call(lambda: self.auth.renewing(request, send), where=where)
