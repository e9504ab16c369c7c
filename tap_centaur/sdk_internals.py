"""Every private singer-sdk name the tap relies on, in one place.

Each override below replaces an SDK internal for a stated reason; `tests/test_sdk_internals.py`
fails when the SDK changes the name, signature or behaviour the override relies on.
Everything else in the tap uses the SDK's public interface.
"""

from __future__ import annotations

import typing as t
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import cached_property

from singer_sdk import RESTStream, Tap
from singer_sdk import singerlib as singer

from tap_centaur.settings import parse_settings

if t.TYPE_CHECKING:
    from collections.abc import Generator, Iterable

    from singer_sdk.helpers.types import Context, Record
    from singer_sdk.streams import Stream


class SdkStream(RESTStream[int]):
    """The SDK's REST stream with the record fast path and per-partition bookmarks."""

    def _increment_stream_state(
        self, latest_record: Record, *, context: Context | None = None
    ) -> None:
        """Do nothing: bookmarks come from clocks, per partition (`ResultsSync`), not records.

        The SDK would read the replication key (`updated_after`) from each record, which
        case results do not carry.
        """

    def _write_starting_replication_value(self, context: Context | None) -> None:
        """Do nothing: `ResultsSync` reads each partition's bookmark itself.

        The SDK would put one `starting_replication_value` for the whole stream in the state
        (and log it), meaningless when every partition has its own bookmark.
        """

    @cached_property
    def _every_property_selected(self) -> bool:
        return all(self.mask.values())

    def _generate_record_messages(
        self, record: Record
    ) -> Generator[singer.RecordMessage, None, None]:
        """The SDK's RECORD messages, minus its walk of the selection mask for every record.

        That walk removes deselected properties and was the largest cost on the record path
        (docs/PERFORMANCE.md); when the catalog selects every property it removes nothing,
        so it is skipped. Type conformance is off for these streams (`TYPE_CONFORMANCE_LEVEL`
        NONE: records are checked as pages are decoded). Stream maps apply as in the SDK.
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
                    time_extracted=datetime.now(timezone.utc),
                )


class SdkTap(Tap):
    """The SDK's tap, with its config check preceded by the tap's own, and runs it wraps."""

    @contextmanager
    def running(self, *, dry_run: bool) -> Generator[None, None, None]:
        """Around a run: the tap's start and end of a run (`TapCentaur.running`)."""
        yield

    def sync_all(self) -> None:  # type: ignore[misc]  # final in the SDK: wrapped, not changed
        """The SDK's `sync_all` within `running`: what starts and ends a run has one place."""
        with self.running(dry_run=False):
            super().sync_all()

    def run_sync_dry_run(  # type: ignore[misc]  # likewise
        self, dry_run_record_limit: int | None = 1, streams: Iterable[Stream] | None = None
    ) -> bool:
        """The SDK's connection check (`--test`) within `running`."""
        with self.running(dry_run=True):
            return super().run_sync_dry_run(dry_run_record_limit, streams)

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Check the tap's settings first: messages name the setting and never echo a secret.

        The SDK's JSON-schema check would print the value of a mistyped setting (an API key
        given as a number, say). It then covers the SDK's built-in settings (stream maps...).
        """
        if raise_errors:
            parse_settings(self.config)
        return super()._validate_config(raise_errors=raise_errors)
