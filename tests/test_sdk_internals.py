"""Each private singer-sdk name the tap relies on (`tap_centaur.sdk_internals`), pinned.

These fail when the SDK renames, re-signs or stops calling what an override replaces, so an
SDK upgrade cannot silently change what the tap emits.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest
from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError

from tap_centaur import sdk_internals
from tap_centaur.errors import ConfigError
from tap_centaur.tap import TapCentaur
from tests.harness import login_config

RECORD = {
    "task_id": 101,
    "case_id": 500123,
    "task_name": "Chest X-ray findings #101",
    "labeling_state": "Labeled",
    "read_stats": {"total_reads": 9, "qualified_reads": 8, "last_read_at": "2024-03-01"},
    "counts": {"Normal": 6, "Nodule": 2},
    "content_metadata": [{"content_id": 9000001, "origin": "s3://bucket/a.dcm"}],
    "correct_label": ["Normal"],
    "undocumented_fields": {"review_notes": "QA batch 3"},
}


def test_every_private_name_is_in_the_one_module():
    """The module lists each override; no other module defines an SDK private method."""
    overridden = {
        name
        for cls in (sdk_internals.SdkStream, sdk_internals.SdkTap)
        for name, value in vars(cls).items()
        if name.startswith("_") and not name.startswith("__") and callable(value)
    }
    assert overridden == {
        "_increment_stream_state",
        "_write_starting_replication_value",
        "_generate_record_messages",
        "_validate_config",
    }


@pytest.mark.parametrize(
    ("name", "parameters"),
    [
        ("_increment_stream_state", ["self", "latest_record", "context"]),
        ("_write_starting_replication_value", ["self", "context"]),
        ("_generate_record_messages", ["self", "record"]),
    ],
)
def test_the_sdk_still_has_each_overridden_stream_method(name, parameters):
    assert list(inspect.signature(getattr(Stream, name)).parameters) == parameters


@pytest.mark.parametrize(
    ("name", "parameters"),
    [
        ("sync_all", ["self"]),
        ("run_sync_dry_run", ["self", "dry_run_record_limit", "streams"]),
    ],
)
def test_the_sdk_still_has_each_wrapped_final_tap_method(name, parameters):
    """Final in the SDK: wrapped by `SdkTap` so the run's start and end have one place."""
    method = getattr(Tap, name)
    assert list(inspect.signature(method).parameters) == parameters
    assert vars(sdk_internals.SdkTap)[name] is not method


def test_the_sdk_still_calls_the_state_overrides_when_syncing(make_sim, capsys):
    """Without the overrides an incremental sync of records that lack `updated_after` fails
    (KeyError) and a stream-level starting value appears in the state."""
    sim = make_sim(tasks=2, cases=(30, 5))
    tap = TapCentaur(config=login_config(sim.url, [101, 102]))
    tap.sync_all()
    messages = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    assert sum(m["type"] == "RECORD" and m["stream"] == "task_results" for m in messages) == 35
    assert all("starting_replication_value" not in json.dumps(state) for state in states)
    assert all("progress_markers" not in json.dumps(state) for state in states)


def _messages_both_ways(tap: TapCentaur, stream_name: str) -> tuple[list[Any], list[Any]]:
    stream = tap.streams[stream_name]
    ours = list(stream._generate_record_messages(json.loads(json.dumps(RECORD))))
    sdks = list(Stream._generate_record_messages(stream, json.loads(json.dumps(RECORD))))

    def comparable(messages: list[Any]) -> list[Any]:
        return [(m.stream, m.record, m.version) for m in messages]

    return comparable(ours), comparable(sdks)


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({}, id="everything-selected"),
        pytest.param(
            {
                "stream_maps": {
                    "task_results": {"read_stats": "__NULL__", "state": "labeling_state"}
                }
            },
            id="stream-map",
        ),
        pytest.param(
            {"stream_maps": {"task_results_copy": {"__source__": "task_results"}}},
            id="stream-map-alias",
        ),
        pytest.param({"flattening_enabled": True, "flattening_max_depth": 1}, id="flattening"),
        pytest.param(
            {"stream_maps": {"task_results": {"__filter__": "labeling_state == 'Ready'"}}},
            id="filtered-out",
        ),
    ],
)
def test_the_record_fast_path_writes_what_the_sdk_writes(make_sim, extra):
    sim = make_sim(tasks=1, cases=1)
    tap = TapCentaur(config={**login_config(sim.url, [101]), **extra})
    ours, sdks = _messages_both_ways(tap, "task_results")
    assert ours == sdks


def test_deselected_fields_go_through_the_sdks_path(make_sim):
    sim = make_sim(tasks=1, cases=1)
    catalog = TapCentaur(config=login_config(sim.url, [101])).catalog_dict
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == ["properties", "read_stats"]:
                entry["metadata"]["selected"] = False
    tap = TapCentaur(config=login_config(sim.url, [101]), catalog=catalog)
    ours, sdks = _messages_both_ways(tap, "task_results")
    assert ours == sdks
    assert "read_stats" not in ours[0][1]


def test_the_record_version_is_the_sdks(make_sim):
    """`_stream_version` is the SDK's; activate-version runs set it on full-table streams."""
    sim = make_sim(tasks=1, cases=1)
    tap = TapCentaur(
        config={**login_config(sim.url, [101]), "emit_activate_version_messages": True}
    )
    stream = tap.streams["tasks"]
    stream._stream_version = 1234  # as Stream.sync sets it before an ACTIVATE_VERSION
    ours = list(stream._generate_record_messages({"task_id": 101}))
    assert [m.version for m in ours] == [1234]


def test_the_sdk_still_validates_config_through_the_override(make_sim):
    """The tap's own check runs first (no secret echoed), then the SDK's for its settings."""
    sim = make_sim(tasks=1, cases=1)
    with pytest.raises(ConfigError, match="'api_key': expected `str`, got `int`"):
        TapCentaur(config={**login_config(sim.url, [101]), "api_key": 73311894221})
    with pytest.raises(ConfigValidationError):
        TapCentaur(config={**login_config(sim.url, [101]), "stream_maps": {"task_results": 7}})
