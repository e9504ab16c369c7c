"""The task_results stream: each task's case results, page by page, incrementally."""

from __future__ import annotations

import typing as t
import zlib
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import groupby
from operator import itemgetter

import msgspec
from singer_sdk.streams.rest import PageContext

from tap_centaur.bookmarks import find_partition_state, read_bookmark, write_bookmark
from tap_centaur.client import CentaurStream
from tap_centaur.errors import UnsupportedTaskError
from tap_centaur.pages import page_of
from tap_centaur.pagination import SequenceIdPaginator
from tap_centaur.prefetch import PartitionPrefetcher
from tap_centaur.progress import ProgressLog
from tap_centaur.schemas import CASE_RESULT_SCHEMA
from tap_centaur.timestamps import format_bookmark, format_updated_after, server_time_before_request

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    import requests
    from singer_sdk.helpers.types import Context

    from tap_centaur.pages import Record


def partition_label(context: t.Mapping[str, t.Any]) -> str:
    """'task 101' or 'task 101 (Labeled)'."""
    label = f"task {context['task_id']}"
    if "labeling_state" in context:
        label += f" ({context['labeling_state']})"
    return label


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(list[dict[str, t.Any]]).decode


@dataclass(frozen=True)
class FetchedPage:
    """A page's case results; the first page also carries the partition's new bookmark.

    A page waiting for its turn is kept packed (JSON, zlib level 1: about a tenth of a KiB
    per record instead of 2-3 KiB decoded), so the prefetch buffer can hold enough pages to
    hide the API's latency without memory growing with the size of a sync.
    """

    records: list[Record] | None
    count: int
    first: bool
    queried_after: datetime | None
    packed: bytes | None = None

    def __len__(self) -> int:
        """The page's size in records, for the prefetch buffer's budget."""
        return self.count

    def pack(self) -> FetchedPage:
        """The same page, with its (already checked) records packed."""
        if self.records is None:
            return self
        return replace(self, records=None, packed=zlib.compress(_encode(self.records), 1))

    def unpacked(self) -> list[Record]:
        """The page's records."""
        if self.records is not None:
            return self.records
        return _decode(zlib.decompress(self.packed)) if self.packed else []


class TaskResultsStream(CentaurStream):
    """`GET /results/public/v1/list`: every case result of each task, incrementally.

    One partition per task id, and per labeling state when `labeling_state` is set (the
    filter is part of the partition, so changing it never reuses a bookmark taken under
    another filter). The SDK sees no replication key, because results carry no update
    timestamp; each partition's bookmark is kept by this stream (see `bookmarks`).

    Pages are fetched by `max_parallel_tasks` background workers (see `prefetch`); records
    and STATE are emitted here, in the SDK's thread, one partition after another.
    """

    name = "task_results"
    path = "/results/public/v1/list"
    primary_keys: t.ClassVar[tuple[str, ...]] = ("task_id", "case_id")
    schema = CASE_RESULT_SCHEMA

    _prefetcher: PartitionPrefetcher[FetchedPage] | None = None
    _partition_list: list[dict[str, t.Any]] | None = None

    @property
    def partitions(self) -> list[dict[str, t.Any]]:
        """One context per task (and labeling state): plain ints and strings, no secrets.

        The tasks are `task_ids`, or when it is not set every task the API lists (within
        `project_ids`), discovered once per run.
        """
        if self._partition_list is None:
            task_ids = self.settings.task_ids or tuple(self._centaur_tap.discovered_tasks)
            states = self.settings.labeling_states
            self._partition_list = (
                [
                    {"task_id": task_id, "labeling_state": state}
                    for task_id in task_ids
                    for state in states
                ]
                if states
                else [{"task_id": task_id} for task_id in task_ids]
            )
        return self._partition_list

    @property
    def discovering(self) -> bool:
        """Whether the tasks come from the API's task list rather than from `task_ids`."""
        return not self.settings.task_ids

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
        updated_after = self._updated_after[_key(context)]
        if updated_after is not None:
            params["updated_after"] = format_updated_after(updated_after)
        if self.settings.page_size is not None:
            params["limit"] = self.settings.page_size
        if next_page_token is not None:
            params["last_sequence_id"] = next_page_token
        return params

    def get_records(self, context: Context | None) -> Iterable[Record]:
        """Emit a partition's records as its worker fetches them, then save its bookmark."""
        if not context:  # the SDK syncs one empty context when there are no partitions
            self.logger.warning("No task to sync: task discovery found no task.")
            return
        prefetcher = self._prefetcher or self._start_prefetching()
        index = self._order[_key(context)]
        label = partition_label(context)
        since = self._updated_after[_key(context)]
        self.logger.info(
            "%s: reading cases updated after %s",
            label,
            format_bookmark(since) if since else "the start (full sync)",
        )
        progress = ProgressLog(self.logger, label)
        queried_after: datetime | None = None
        try:
            for page in prefetcher.pages(index):
                if page.first:
                    queried_after = page.queried_after
                records = page.unpacked()
                progress.page(len(records))
                yield from records
        except UnsupportedTaskError as exc:
            if not self.discovering:
                self._stop_prefetching()
                raise
            self._skip_task(context["task_id"], exc)
        except BaseException:
            self._stop_prefetching()
            raise
        else:
            progress.finish()
            self._complete_partition(label, self.get_context_state(context), queried_after)
        if index == len(self._order) - 1:
            self._stop_prefetching()
            self._report_skipped_tasks()

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

    def _start_prefetching(self) -> PartitionPrefetcher[FetchedPage]:
        """Read every partition's starting point, then start the workers."""
        contexts = self.partitions
        self._contexts = contexts
        self._skipped: dict[int, str | None] = {}
        self._order = {_key(context): index for index, context in enumerate(contexts)}
        self._updated_after = {
            _key(context): read_bookmark(find_partition_state(self.tap_state, self.name, context))
            or self.settings.start_date
            for context in contexts
        }
        self._prefetcher = PartitionPrefetcher(
            lambda index: self._fetch_pages(self._contexts[index]),
            len(contexts),
            parallelism=self.settings.max_parallel_tasks,
            pack=FetchedPage.pack,
            # A task's partitions (one per labeling state) are fetched one after another, in
            # emission order: a case moving between states mid-run is then emitted old
            # version first. Tasks share no case, so they may go in parallel.
            group_sizes=[len(list(group)) for _, group in groupby(contexts, itemgetter("task_id"))],
        )
        self._prefetcher.start()
        return self._prefetcher

    def _skip_task(self, task_id: int, error: UnsupportedTaskError) -> None:
        """In discovery mode a task v1 cannot serve is reported once and skipped (no bookmark)."""
        if task_id in self._skipped:
            return
        name = self._centaur_tap.discovered_tasks.get(task_id, {}).get("task_name")
        self._skipped[task_id] = name
        self.logger.warning("task %s (%r) skipped: %s", task_id, name, error)

    def _report_skipped_tasks(self) -> None:
        if self._skipped:
            self.logger.warning(
                "Skipped %d discovered task(s) whose type /results/public/v1 does not serve "
                "(HTTP 426): %s",
                len(self._skipped),
                ", ".join(f"{task_id} ({name!r})" for task_id, name in self._skipped.items()),
            )

    def _stop_prefetching(self) -> None:
        if self._prefetcher is not None:
            self._prefetcher.close()
            self._prefetcher = None

    def _fetch_pages(self, context: Context) -> Iterator[FetchedPage]:
        """Request a partition's pages one after another (in a worker thread)."""
        paginator = self.get_new_paginator()
        send = self.request_decorator(self._request)
        with self.get_http_request_counter() as request_counter:
            request_counter.with_context(context)
            while not paginator.finished:
                request = self.get_http_request(
                    page=PageContext(
                        stream_context=context, next_page_token=paginator.current_value
                    )
                )
                response = send(
                    self.build_prepared_request(
                        method=request.method,
                        url=request.url,
                        params=request.encode_params(),
                        headers=request.headers,
                    ),
                    context,
                )
                request_counter.increment()
                first = paginator.count == 0
                records = page_of(response).records
                page = FetchedPage(
                    records=records,
                    count=len(records),
                    first=first,
                    queried_after=server_time_before_request(response) if first else None,
                )
                paginator.advance(response)
                del response, records  # a waiting worker holds only the page it yields
                yield page

    def _complete_partition(
        self, label: str, state: dict[str, t.Any], queried_after: datetime | None
    ) -> None:
        """Every page is read: move the bookmark and emit STATE right away (SDK pitfall 1)."""
        if queried_after is None:
            self.logger.warning(
                "%s: the API sent no usable Date header, so the bookmark stays where it was "
                "(the next run re-reads the same cases rather than risk skipping any).",
                label,
            )
        else:
            write_bookmark(state, queried_after)
        self.state_manager.finalize_state(state)
        if not self.get_batch_config(self.config):
            self._write_state_message()
        # With BATCH messages the partition's last records may still sit in an unsent batch
        # file: the SDK writes STATE after each BATCH message, which then carries this bookmark.


def _key(context: t.Mapping[str, t.Any]) -> tuple[tuple[str, t.Any], ...]:
    return tuple(sorted(context.items()))
