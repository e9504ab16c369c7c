"""The tap's streams: a task's results page by page, and single cases."""

from __future__ import annotations

import typing as t

from tap_centaur.bookmarks import read_bookmark, write_bookmark
from tap_centaur.client import CentaurStream
from tap_centaur.pages import case_of, page_of
from tap_centaur.pagination import SequenceIdPaginator
from tap_centaur.progress import ProgressLog
from tap_centaur.schemas import CASE_RESULT_SCHEMA
from tap_centaur.timestamps import format_bookmark, format_updated_after, server_time_before_request

if t.TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    import requests
    from singer_sdk.helpers.types import Context

    from tap_centaur.pages import Record


def partition_label(context: t.Mapping[str, t.Any]) -> str:
    """'task 101' or 'task 101 (Labeled)'."""
    label = f"task {context['task_id']}"
    if "labeling_state" in context:
        label += f" ({context['labeling_state']})"
    return label


class TaskResultsStream(CentaurStream):
    """`GET /results/public/v1/list`: every case result of each task, incrementally.

    One partition per task id, and per labeling state when `labeling_state` is set (the
    filter is part of the partition, so changing it never reuses a bookmark taken under
    another filter). The SDK sees no replication key, because results carry no update
    timestamp; each partition's bookmark is kept by this stream (see `bookmarks`).
    """

    name = "task_results"
    path = "/results/public/v1/list"
    primary_keys: t.ClassVar[tuple[str, ...]] = ("task_id", "case_id")
    schema = CASE_RESULT_SCHEMA

    _updated_after: datetime | None = None
    _queried_after: datetime | None = None
    _awaiting_first_page = True

    @property
    def partitions(self) -> list[dict[str, t.Any]]:
        """One context per task id (and labeling state): plain ints and strings, no secrets."""
        states = self.settings.labeling_states
        if not states:
            return [{"task_id": task_id} for task_id in self.settings.task_ids]
        return [
            {"task_id": task_id, "labeling_state": state}
            for task_id in self.settings.task_ids
            for state in states
        ]

    def get_new_paginator(self) -> SequenceIdPaginator:
        """Page with `last_sequence_id` and `has_next`."""
        return SequenceIdPaginator()

    def get_url_params(
        self, context: Context | None, next_page_token: int | None
    ) -> dict[str, t.Any]:
        """The task, its filters, the page size and the cursor."""
        assert context is not None  # noqa: S101 - partitions always give a context
        params: dict[str, t.Any] = {"task_id": context["task_id"]}
        if "labeling_state" in context:
            params["labeling_state"] = context["labeling_state"]
        if self._updated_after is not None:
            params["updated_after"] = format_updated_after(self._updated_after)
        if self.settings.page_size is not None:
            params["limit"] = self.settings.page_size
        if next_page_token is not None:
            params["last_sequence_id"] = next_page_token
        return params

    def get_records(self, context: Context | None) -> Iterable[Record]:
        """Read every page of a partition, then save and emit its new bookmark."""
        assert context is not None  # noqa: S101 - partitions always give a context
        state = self.get_context_state(context)
        label = partition_label(context)
        self._updated_after = read_bookmark(state) or self.settings.start_date
        self._queried_after = None
        self._awaiting_first_page = True
        since = format_bookmark(self._updated_after) if self._updated_after else "the start"
        self.logger.info("%s: reading cases updated after %s", label, since)
        self._progress = ProgressLog(self.logger, label)
        yield from self.request_records(context)
        self._progress.finish()
        self._complete_partition(label, state)

    def parse_response(self, response: requests.Response) -> list[Record]:
        """The page's case results (decoded once, in `validate_response`)."""
        if self._awaiting_first_page:
            self._awaiting_first_page = False
            self._queried_after = server_time_before_request(response)
        records = page_of(response).records
        self._progress.page(len(records))
        return records

    def decode(self, response: requests.Response) -> None:
        """Decode and check the page now, so a bad body is retried or reported here."""
        page_of(response)

    def client_error_message(self, response: requests.Response, where: str) -> str:
        """Name the task on a 404; otherwise as for every endpoint."""
        if response.status_code == 404:
            task_id = where.split()[1]
            return (
                f"task {task_id} not found or not visible to this API key (HTTP 404). Check "
                "task_ids (the number in go.centaurlabs.com/task/<id>) and that the API key "
                "belongs to the organisation that owns the task."
            )
        return super().client_error_message(response, where)

    def _complete_partition(self, label: str, state: dict[str, t.Any]) -> None:
        """Every page is read: move the bookmark and emit STATE right away (SDK pitfall 1)."""
        queried_after = self._queried_after
        if queried_after is None:
            self.logger.warning(
                "%s: the API sent no usable Date header, so the bookmark stays where it was "
                "(the next run re-reads the same cases rather than risk skipping any).",
                label,
            )
        else:
            write_bookmark(state, queried_after)
        self.state_manager.finalize_state(state)
        self._write_state_message()


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
