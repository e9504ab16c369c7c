"""Paging through results with `last_sequence_id` and `has_next`."""

from __future__ import annotations

import typing as t

from singer_sdk.pagination import BaseAPIPaginator

from tap_centaur.errors import PaginationError
from tap_centaur.pages import page_of, request_label

if t.TYPE_CHECKING:
    import requests


class SequenceIdPaginator(BaseAPIPaginator["int | None"]):
    """Follows `last_sequence_id` while `has_next` is true; refuses cursors that do not advance.

    Unlike the SDK's defaults: a cursor of 0 is a cursor, an empty page with `has_next` true
    is followed, and a cursor that does not move forward (a repeat, a step back, A→B→A) or a
    missing cursor ends the run with an error instead of looping or stopping silently.
    """

    def __init__(self) -> None:
        """Start on the first page (no cursor)."""
        super().__init__(None)

    def has_more(self, response: requests.Response) -> bool:
        """Whether the API says another page follows."""
        return page_of(response).has_next

    def continue_if_empty(self, response: requests.Response) -> bool:
        """An empty page is not the end while `has_next` is true."""
        return self.has_more(response)

    def get_next(self, response: requests.Response) -> int:
        """The cursor of the next page, checked to move strictly forward.

        Raises:
            PaginationError: when the cursor is missing or does not advance.
        """
        cursor = page_of(response).cursor
        where = request_label(response.request)
        if cursor is None:
            raise PaginationError(
                f"{where}: the API said has_next=true but sent no last_sequence_id, so the "
                "next page cannot be requested. Stopping rather than skipping the rest of the "
                "task; no bookmark was saved for it."
            )
        previous = self.current_value
        if previous is not None and cursor <= previous:
            raise PaginationError(
                f"{where}: the API's cursor went from last_sequence_id={previous} to {cursor} "
                "instead of moving forward; following it would loop or repeat pages. Stopping; "
                "no bookmark was saved for this task."
            )
        return cursor

    def advance(self, response: requests.Response) -> None:
        """Move to the next page, or finish: any cursor counts, including 0."""
        self._page_count += 1
        if self.has_more(response):
            self._value = self.get_next(response)
        else:
            self._finished = True
