"""Every private (or final) singer-sdk name the tap relies on; why each: docs/DESIGN.md."""

from __future__ import annotations

import typing as t
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import cached_property

from singer_sdk import RESTStream, Tap
from singer_sdk import singerlib as singer

from tap_centaur.settings import parse_settings

if t.TYPE_CHECKING:
    from collections.abc import Generator, Iterable, Iterator

    from singer_sdk.helpers.types import Context, Record
    from singer_sdk.streams import Stream


class SdkStream(RESTStream[int]):
    """The SDK's REST stream with the record fast path and per-partition bookmarks."""

    def _increment_stream_state(self, record: Record, *, context: Context | None = None) -> None:
        """Nothing: bookmarks come from clocks per partition, not from records."""

    def _write_starting_replication_value(self, context: Context | None) -> None:
        """Nothing: each partition has its own bookmark, the stream no starting value."""

    @cached_property
    def _every_property_selected(self) -> bool:
        return all(self.mask.values())

    def _generate_record_messages(
        self, record: Record
    ) -> Generator[singer.RecordMessage, None, None]:
        """The SDK's RECORD messages; with every property selected, without its mask walk."""
        if not self._every_property_selected:
            yield from super()._generate_record_messages(record)
            return
        for stream_map in self.stream_maps:
            if (mapped := stream_map.transform(record)) is not None:
                yield singer.RecordMessage(
                    stream_map.stream_alias,
                    mapped,
                    self._stream_version,
                    datetime.now(timezone.utc),
                )


class SdkTap(Tap):
    """The SDK's tap: its config check after the tap's own, its runs within `running`."""

    @contextmanager
    def running(self, *, dry_run: bool) -> Iterator[None]:
        """The run's start and end (`TapCentaur.running`)."""
        yield

    def sync_all(self) -> None:  # type: ignore[misc]  # final in the SDK: wrapped, not changed
        """The SDK's `sync_all` within `running`."""
        with self.running(dry_run=False):
            super().sync_all()

    def run_sync_dry_run(  # type: ignore[misc]  # likewise
        self, dry_run_record_limit: int | None = 1, streams: Iterable[Stream] | None = None
    ) -> bool:
        """The SDK's connection check (`--test`) within `running`."""
        with self.running(dry_run=True):
            return super().run_sync_dry_run(dry_run_record_limit, streams)

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """The tap's check first (it never echoes a value), then the SDK's (built-in settings)."""
        if raise_errors:
            parse_settings(self.config)
        return super()._validate_config(raise_errors=raise_errors)
