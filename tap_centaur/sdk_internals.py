"""Every private (or final) singer-sdk name the tap relies on; why each: docs/DESIGN.md."""

from __future__ import annotations

import typing as t
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

from singer_sdk import RESTStream, Tap
from singer_sdk import singerlib as singer
from singer_sdk.helpers._util import load_json

from tap_centaur.errors import ConfigError
from tap_centaur.redaction import excerpt
from tap_centaur.settings import parse_settings

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable
    from contextlib import AbstractContextManager

    import click
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

    running: Callable[..., AbstractContextManager[None]]  # the run's start and end (the tap's)

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

    @classmethod
    def cb_config(cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]) -> t.Any:  # noqa: ANN401
        """The SDK's `--config`, each file read once (a pipe is empty the second time)."""
        given = super().cb_config(ctx, param, tuple(path for path in value if path == "ENV"))
        for path in value:
            if path != "ENV":
                given.config |= read_input_file(path, Path(path).read_bytes)
        return given

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """The tap's check first (it never echoes a value), then the SDK's (built-in settings)."""
        if raise_errors:
            parse_settings(self.config)
        return super()._validate_config(raise_errors=raise_errors)


def read_input_file(
    name: str, read: Callable[[], str | bytes], *, catalog: bool = False
) -> dict[str, t.Any]:
    """A `--config` (`--catalog`) file's object, parsed as the SDK does; else a `ConfigError`."""
    fix = "Start from --discover's output." if catalog else "See README.md, Settings."
    try:
        content = read()
        value = load_json(content.decode() if isinstance(content, bytes) else content)
    except OSError as error:
        problem, fix = f"cannot be read ({error.strerror})", "Check the path."
    except (ValueError, RecursionError) as error:  # not UTF-8, not JSON, too deep
        problem = f"is not valid JSON ({excerpt(str(error))})"
    else:
        problem = "" if isinstance(value, dict) else "is not a JSON object"
    if catalog and not problem:
        try:
            singer.Catalog.from_dict(value)
        except (LookupError, TypeError, ValueError, AttributeError) as error:
            problem = f"is not a Singer catalog ({type(error).__name__}: {excerpt(str(error))})"
    if not problem:
        return value
    subject = "Invalid catalog file '{}'" if catalog else "Invalid config file '{}'"
    raise ConfigError(name, f"{problem}.", fix, subject=subject.format(excerpt(name)))
