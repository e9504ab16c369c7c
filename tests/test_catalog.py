"""The catalog and the SCHEMA messages: the results streams are incremental, their schemas
valid Draft 4 and 7; ACTIVATE_VERSION only for whole streams."""

from __future__ import annotations

import jsonschema
import pytest

from tests.harness import login_config

RESULTS = ("task_results", "task_results_v2")
STREAMS = {"projects", "tasks", *RESULTS, "case_results", "case_results_v2"}


def test_the_results_streams_are_incremental_on_updated_after(sim, tap):
    catalog = tap.discover(login_config(sim.url, [101]))
    entries = {stream["tap_stream_id"]: stream for stream in catalog["streams"]}
    for name, entry in entries.items():
        root = next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])
        if name in RESULTS:
            assert entry["replication_method"] == "INCREMENTAL"
            assert entry["replication_key"] == "updated_after"
            assert root["valid-replication-keys"] == ["updated_after"]
        else:
            assert entry["replication_method"] == "FULL_TABLE"


def activate_versions(run):
    return sorted({m["stream"] for m in run.messages if m["type"] == "ACTIVATE_VERSION"})


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param({}, ["projects", "tasks"], id="whole"),
        pytest.param({"project_ids": [7000]}, ["projects"], id="tasks-filtered"),
        pytest.param({"shard_count": 2, "shard_index": 0}, [], id="sharded"),
    ],
)
def test_activate_version_only_for_streams_read_whole(make_sim, tap, extra, expected):
    """Never for the results streams, whose runs read only what changed: a target honouring
    it would soft-delete (or delete) every case loaded before (issue 13)."""
    sim = make_sim(tasks=3, cases=(20, 10, 5), unsupported_task_ids=(103,))
    cases = [{"task_id": 101, "case_id": sim.truth(101)[0]["case_id"]}]
    versions = {"emit_activate_version_messages": True, "case_ids": cases}
    config = login_config(sim.url, [101, 102, 103], **versions, **extra)
    first = tap.run(config)
    assert first.exit_code == 0, first.stderr
    assert activate_versions(first) == expected
    sim.update_cases(102, count=2)  # 102 is in every variant's tasks (shard 0 of 2 too)
    second = tap.run(config, first.final_state)
    assert activate_versions(second) == expected
    assert 0 < len(second.records_of("task_results")) < len(first.records_of("task_results"))


def _types(schema, path="$"):
    """Each (path, declared types) of a schema, at every depth."""
    if "type" in schema:
        yield path, schema["type"]
    for name, spec in schema.get("properties", {}).items():
        yield from _types(spec, f"{path}.{name}")
    if "items" in schema:
        yield from _types(schema["items"], f"{path}[]")


def test_every_stream_schema_is_draft_4_and_7_with_one_type_per_field(make_sim, tap):
    """Every SCHEMA message: no draft-2020-12 `$schema`, valid Draft 4 and Draft 7, one JSON
    type (plus null) per field at every depth (each record valid against it: test_sdk_suite)."""
    sim = make_sim(tasks=3, cases=(30, 30, 30), unsupported_task_ids=(102,))
    cases = [{"task_id": task, "case_id": sim.truth(task)[3]["case_id"]} for task in (101, 102)]
    run = tap.run(login_config(sim.url, [101, 102, 103], case_ids=cases))
    assert run.exit_code == 0, run.stderr
    schemas = {m["stream"]: m["schema"] for m in run.messages if m["type"] == "SCHEMA"}
    assert set(schemas) == STREAMS
    for stream, schema in schemas.items():
        assert "$schema" not in schema, stream
        jsonschema.Draft4Validator.check_schema(schema)
        jsonschema.Draft7Validator.check_schema(schema)
        for path, declared in _types(schema):
            one = [declared] if isinstance(declared, str) else [t for t in declared if t != "null"]
            assert len(one) == 1, f"{stream}{path[1:]}: {declared}"
