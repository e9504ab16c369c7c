"""The other streams: single cases, and the project and task lists."""

from __future__ import annotations

import typing as t

from tap_centaur.client import CentaurStream
from tap_centaur.pages import case_of, page_of
from tap_centaur.pagination import SequenceIdPaginator
from tap_centaur.schemas import CASE_RESULT_SCHEMA, PROJECT, PROJECT_SCHEMA, TASK, TASK_SCHEMA

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    import requests
    from singer_sdk.helpers.types import Context

    from tap_centaur.pages import Record
    from tap_centaur.schemas import RecordShape


class CaseResultsStream(CentaurStream):
    """`GET /results/public/v1/get`: the case results listed in `case_ids` (full sync)."""

    name = "case_results"
    path = "/results/public/v1/get"
    primary_keys: t.ClassVar[tuple[str, ...]] = ("task_id", "case_id")
    schema = CASE_RESULT_SCHEMA

    def get_new_paginator(self) -> None:
        """One case per request."""
        return

    def get_url_params(
        self, context: Context | None, next_page_token: int | None
    ) -> dict[str, t.Any]:
        """The case to fetch."""
        return dict(context or {})

    def get_records(self, context: Context | None) -> Iterable[Record]:
        """Fetch each configured case in turn."""
        for ref in self.settings.case_ids:
            yield from self.request_records({"task_id": ref.task_id, "case_id": ref.case_id})

    def parse_response(self, response: requests.Response) -> list[Record]:
        """The case result (decoded once, in `validate_response`)."""
        return [case_of(response)]

    def decode(self, response: requests.Response) -> None:
        """Decode and check the case now, so a bad body is retried or reported here."""
        case_of(response)

    def client_error_message(self, response: requests.Response, where: str) -> str:
        """Name the case on a 404."""
        if response.status_code == 404:
            return (
                f"{where}: case not found or not visible to this API key (HTTP 404). Check "
                "case_ids (case_id is the number in go.centaurlabs.com/problem/<id>)."
            )
        return super().client_error_message(response, where)


class _ListStream(CentaurStream):
    """A paginated list endpoint (`last_sequence_id` + `has_next`), read in full each run."""

    shape: t.ClassVar[RecordShape]

    def get_new_paginator(self) -> SequenceIdPaginator:
        """Page with `last_sequence_id` and `has_next`."""
        return SequenceIdPaginator()

    def get_url_params(
        self, context: Context | None, next_page_token: int | None
    ) -> dict[str, t.Any]:
        """The context's filters, the page size and the cursor."""
        params: dict[str, t.Any] = dict(context or {})
        if self.settings.page_size is not None:
            params["limit"] = self.settings.page_size
        if next_page_token is not None:
            params["last_sequence_id"] = next_page_token
        return params

    def parse_response(self, response: requests.Response) -> list[Record]:
        """The page's records (decoded once, in `validate_response`)."""
        return page_of(response, self.shape).records

    def decode(self, response: requests.Response) -> None:
        """Decode and check the page now, so a bad body is retried or reported here."""
        page_of(response, self.shape)


class ProjectsStream(_ListStream):
    """`GET /projects/public/v1/list`: the organisation's projects."""

    name = "projects"
    path = "/projects/public/v1/list"
    primary_keys: t.ClassVar[tuple[str, ...]] = ("project_id",)
    schema = PROJECT_SCHEMA
    shape = PROJECT


class TasksStream(_ListStream):
    """`GET /tasks/public/v1/list`: the tasks (within `project_ids` when set).

    The list is read once per run and shared with `task_results`, which syncs every listed
    task when `task_ids` is not set.
    """

    name = "tasks"
    path = "/tasks/public/v1/list"
    primary_keys: t.ClassVar[tuple[str, ...]] = ("task_id",)
    schema = TASK_SCHEMA
    shape = TASK

    def list_tasks(self) -> Iterator[Record]:
        """Every task the API lists, per project when `project_ids` is set."""
        filters: list[dict[str, int] | None] = [
            {"project_id": project} for project in self.settings.project_ids
        ]
        for context in filters or [None]:
            yield from self.request_records(context)

    def get_records(self, context: Context | None) -> Iterable[Record]:
        """The tasks listed this run (copies: the SDK may change what it emits)."""
        for task in self._centaur_tap.discovered_tasks.values():
            yield dict(task)
