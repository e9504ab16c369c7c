"""Each private singer-sdk name the tap relies on (`tap_centaur.sdk_internals`), pinned.

These fail when the SDK renames, re-signs or stops calling what an override replaces, so an
SDK upgrade cannot silently change what the tap emits.
"""

from __future__ import annotations

import inspect
import json
from decimal import Decimal
from typing import Any

import pytest
from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.plugin_base import _ConfigInput

from tap_centaur import sdk_internals
from tap_centaur.errors import ConfigError
from tap_centaur.tap import TapCentaur
from tests.harness import login_config

#: Each SDK method the tap overrides (the private ones: all in sdk_internals) or wraps.
PINNED = [
    (Stream, "_increment_stream_state", ["self", "latest_record", "context"]),
    (Stream, "_write_starting_replication_value", ["self", "context"]),
    (Stream, "_generate_record_messages", ["self", "record"]),
    (Tap, "_validate_config", ["self", "raise_errors"]),
    (Tap, "sync_all", ["self"]),  # final in the SDK: wrapped
    (Tap, "run_sync_dry_run", ["self", "dry_run_record_limit", "streams"]),  # likewise
    (Tap, "cb_config", ["ctx", "param", "value"]),  # what it returns: `.config`, extended
]


def test_each_sdk_method_the_tap_overrides_or_wraps_is_listed_and_still_there():
    overridden = {
        name
        for cls in (sdk_internals.SdkStream, sdk_internals.SdkTap)
        for name, value in vars(cls).items()
        if name.startswith("_") and not name.startswith("__") and callable(value)
    }
    assert overridden == {name for _, name, _ in PINNED if name.startswith("_")}
    for sdk_class, name, parameters in PINNED:
        assert list(inspect.signature(getattr(sdk_class, name)).parameters) == parameters, name


def _messages_both_ways(tap: TapCentaur, record: dict[str, Any]) -> list[list[Any]]:
    """Ours and the SDK's RECORD messages for one record, as (stream, record, version)."""
    stream = tap.streams["task_results"]
    stream._stream_version = 1234  # as Stream.sync sets it before an ACTIVATE_VERSION
    ours = stream._generate_record_messages(json.loads(json.dumps(record)))
    sdks = Stream._generate_record_messages(stream, json.loads(json.dumps(record)))
    return [[(m.stream, m.record, m.version) for m in messages] for messages in (ours, sdks)]


MAPS = {
    "stream-map": {"task_results": {"read_stats": "__NULL__", "state": "labeling_state"}},
    "stream-map-alias": {"task_results_copy": {"__source__": "task_results"}},
    "filtered-out": {"task_results": {"__filter__": "labeling_state == 'Ready'"}},
}


@pytest.mark.parametrize(
    ("extra", "deselected"),
    [
        pytest.param({}, None, id="everything-selected"),
        *(pytest.param({"stream_maps": maps}, None, id=name) for name, maps in MAPS.items()),
        pytest.param({"flattening_enabled": True, "flattening_max_depth": 1}, None, id="flatten"),
        pytest.param({}, "read_stats", id="a-field-deselected"),  # the SDK's path
    ],
)
def test_the_record_fast_path_writes_what_the_sdk_writes(make_sim, extra, deselected):
    sim = make_sim(tasks=1, cases=1, extra_fields=True)
    config = {**login_config(sim.url, [101]), **extra}
    catalog = TapCentaur(config=config).catalog_dict
    for entry in (entry for stream in catalog["streams"] for entry in stream["metadata"]):
        if entry["breadcrumb"] == ["properties", deselected]:
            entry["metadata"]["selected"] = False
    tap = TapCentaur(config=config, catalog=catalog if deselected else None)
    [record] = sim.emitted()  # with undocumented_fields
    assert "undocumented_fields" in record
    ours, sdks = _messages_both_ways(tap, record)
    assert ours == sdks
    assert not ours or ours[0][2] == 1234
    assert not deselected or deselected not in ours[0][1]


def test_the_sdk_still_validates_config_through_the_override(make_sim):
    """The tap's own check runs first (no secret echoed), then the SDK's for its settings."""
    sim = make_sim(tasks=1, cases=1)
    with pytest.raises(ConfigError, match="'api_key': expected `str`, got `int`"):
        TapCentaur(config={**login_config(sim.url, [101]), "api_key": 73311894221})
    with pytest.raises(ConfigValidationError):
        TapCentaur(config={**login_config(sim.url, [101]), "stream_maps": {"task_results": 7}})


def test_config_files_are_read_as_the_sdk_reads_them(tmp_path):
    """The SDK's private `load_json` (a BOM, decimals) and its merge of `--config` in order."""
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    first.write_text('\ufeff{"backoff_factor": 0.5, "task_ids": [101]}', encoding="utf-8")
    second.write_text('{"task_ids": [102]}')
    paths: Any = (str(first), "ENV", str(second))
    ours, sdks = TapCentaur.cb_config(None, None, paths), _ConfigInput.from_cli_args(*paths)  # type: ignore[arg-type]
    expected = ({"backoff_factor": Decimal("0.5"), "task_ids": [102]}, True)
    assert (ours.config, ours.parse_env) == (sdks.config, sdks.parse_env) == expected
