"""The API client: one call fetches and checks a page; pages follow `last_sequence_id`."""

from __future__ import annotations

import time
import typing as t
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlsplit

import requests
from singer_sdk import metrics

from tap_centaur.auth import CentaurAuth
from tap_centaur.clock import UTC, RequestTime, SkewWatch
from tap_centaur.errors import (
    AccessRefusedError,
    CentaurAPIError,
    UnauthorizedError,
    UnsupportedTaskError,
)
from tap_centaur.pages import Page, error_body, request_label, server_message
from tap_centaur.pagination import SequenceIdPaginator
from tap_centaur.retry import RetryPolicy, raise_if_transient
from tap_centaur.session import ApiSession, SessionPerThread

if t.TYPE_CHECKING:
    from collections.abc import Generator, Mapping

    from tap_centaur.schemas import RecordShape
    from tap_centaur.settings import Settings

HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


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
        return cls(settings, SessionPerThread(new_session), auth, retry_policy, SkewWatch())

    def pages(
        self,
        path: str,
        params: Mapping[str, t.Any],
        shape: RecordShape,
        *,
        stream: str,
    ) -> Generator[Page, None, None]:
        """Every page of a `list` endpoint, in order, following `last_sequence_id`; or a `get`.

        Raises:
            PaginationError: a cursor that does not move forward, or pages without end.
        """
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
        self,
        path: str,
        query: Mapping[str, t.Any],
        shape: RecordShape,
        *,
        stream: str,
    ) -> Page:
        """Send one GET (signed, renewed after a 401, retried) and return its checked page."""
        session = self.sessions.get()
        request = session.prepare_request(
            requests.Request("GET", self.settings.api_url + path, params=query, headers=HEADERS)
        )
        where = request_label(request)

        def send() -> Page:
            self.auth(request)
            sent = time.time()
            response = session.send(request, timeout=self.settings.request_timeout)
            _log_duration(stream, path, response)
            check_status(response, where, self.retry_policy)
            local_now = datetime.fromtimestamp(sent + response.elapsed.total_seconds(), UTC)
            moment = RequestTime.of(response, local_now)
            page = Page.read(response, shape, moment, where, listed=path.endswith("/list"))
            self.skew.observe(page.time)
            return page

        return self.retry_policy.call(lambda: self.auth.send(request, send), where=where)


def _log_duration(stream: str, path: str, response: requests.Response) -> None:
    """The SDK's `http_request_duration` METRIC for one request."""
    tags: dict[str, t.Any] = {
        metrics.Tag.STREAM: stream,
        metrics.Tag.ENDPOINT: path,
        metrics.Tag.HTTP_STATUS_CODE: response.status_code,
        metrics.Tag.STATUS: metrics.Status.SUCCEEDED if response.ok else metrics.Status.FAILED,
    }
    point = metrics.Point(
        "timer", metrics.Metric.HTTP_REQUEST_DURATION, response.elapsed.total_seconds(), tags
    )
    metrics.log(metrics.get_metrics_logger(), point)


def check_status(response: requests.Response, where: str, retry_policy: RetryPolicy) -> None:
    """Raise the error a non-200 answer means, with a message saying what to do.

    Raises:
        TransientResponseError: 429, 5xx (retried).
        UnauthorizedError: 401 (token renewed and request retried).
        CentaurAPIError: any other error; `AccessRefusedError` for what fails every request.
    """
    status = response.status_code
    if status == 200:
        return
    raise_if_transient(response, where, retry_policy)
    if status == 401:
        raise UnauthorizedError(f"{where}: HTTP 401 Unauthorized")
    message = client_error_message(response, where)
    if status == 426:
        raise UnsupportedTaskError(message)
    if status in (400, 422) or (
        status == 403 and error_body(response).get("code") == "restricted_country"
    ):
        raise AccessRefusedError(message)
    raise CentaurAPIError(message)


def client_error_message(response: requests.Response, where: str) -> str:
    """One line for a 4xx answer: what the server said and what to do."""
    status = response.status_code
    path = urlsplit(response.request.url or "").path
    if status == 404 and path.startswith("/results/") and path.endswith("/list"):
        return (
            f"{where.split(' (', maxsplit=1)[0]} not found or not visible to this API key "
            "(HTTP 404). Check task_ids (the number in go.centaurlabs.com/task/<id>) and that "
            "the API key belongs to the organisation that owns the task."
        )
    if status == 404 and path.startswith("/results/"):
        return (
            f"{where}: case not found or not visible to this API key (HTTP 404). Check "
            "case_ids (case_id is the number in go.centaurlabs.com/problem/<id>)."
        )
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
