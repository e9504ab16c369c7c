"""`meltano run tap-centaur target-postgres` against a real PostgreSQL server."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest
from ruamel.yaml import YAML

from centaur_sim import Simulator
from tests.e2e.checks import assert_rows_match, truth_by_key
from tests.e2e.conftest import ROOT, Meltano, Postgres

pytestmark = pytest.mark.e2e

STATE_ID = "dev:tap-centaur-to-target-postgres"
INTEGER_COLUMNS = ("task_id", "case_id", "project_id", "qualified_reads")
JSON_COLUMNS = ("read_stats", "counts")


def test_full_sync_then_incremental_sync_with_stored_state(
    meltano: Meltano, postgres: Postgres, sim: Simulator
) -> None:
    truth = truth_by_key(sim)
    # The hourly schedule of meltano.yml, run now: its job is `tap-centaur target-postgres`.
    first = meltano("schedule", "run", "centaur-to-postgres-hourly")
    assert "No state was found" in first.output  # a private, empty state backend

    # One row per case, the table keyed by (task_id, case_id).
    rows = postgres.rows("task_results")
    assert len(rows) == len(truth) == 195
    assert postgres.primary_key("task_results") == ["task_id", "case_id"]
    assert postgres.scalar("SELECT count(*) FROM {schema}.task_results") == len(truth)

    # Integers are integer columns, nested values jsonb (content_metadata: an array of objects,
    # which target-postgres stores as jsonb or jsonb[]), and the values are the API's.
    types = postgres.column_types("task_results")
    for name in INTEGER_COLUMNS:
        assert types[name] in ("int2", "int4", "int8"), (name, types[name])
        assert all(type(row[name]) is int for row in rows.values())
    for name in JSON_COLUMNS:
        assert types[name] == "jsonb", (name, types[name])
    assert types["content_metadata"] in ("jsonb", "_jsonb")
    # Labels: class names a text[], WKT text (one type per column).
    assert [
        types[f"{label}{shape}"]
        for label in ("correct", "majority")
        for shape in ("_label", "_label_wkt")
    ] == ["_text", "text"] * 2
    assert_rows_match(rows, truth)

    # The jsonb columns can be queried with PostgreSQL's JSON operators.
    total_reads = sum(int(r["read_stats"]["total_reads"]) for r in truth.values())
    assert (
        postgres.scalar("SELECT sum((read_stats->>'total_reads')::int) FROM {schema}.task_results")
        == total_reads
    )
    assert postgres.scalar(
        "SELECT count(*) FROM {schema}.task_results WHERE jsonb_typeof(read_stats) = 'object'"
    ) == len(truth)
    unnest = (
        "unnest(content_metadata)"
        if types["content_metadata"] == "_jsonb"
        else "jsonb_array_elements(content_metadata)"
    )
    origins = postgres.all(
        f"SELECT m->>'origin', (m->>'content_id')::bigint FROM {{schema}}.task_results, {unnest} m"
    )
    expected_origins = sorted(
        (m["origin"], m["content_id"]) for r in truth.values() for m in r["content_metadata"]
    )
    assert sorted(origins) == expected_origins

    # Meltano stored the tap's bookmarks under the state id of `meltano run tap-centaur
    # target-postgres` in the dev environment (the schedule's): one partition per task.
    state = meltano.state(STATE_ID)
    partitions = state["singer_state"]["bookmarks"]["task_results"]["partitions"]
    assert sorted(p["context"]["task_id"] for p in partitions) == sim.task_ids()
    bookmarks = {p["replication_key_value"] for p in partitions}
    assert all(bookmarks)

    # Some cases change on the server; the next run, the job itself, reuses that state and
    # gets only those.
    extracted_before = postgres.scalar("SELECT max(_sdc_extracted_at) FROM {schema}.task_results")
    sim.reset_stats()
    changed = set()
    for task_id, count, seed in ((101, 7, 1), (102, 4, 2)):
        changed |= {(task_id, c) for c in sim.update_cases(task_id, count=count, rng_seed=seed)}
    second = meltano("run", "centaur-to-postgres")
    assert "No state was found" not in second.output
    # The tap logged the stored bookmark it started from.
    stamps = {b[:19] for b in bookmarks}
    assert any(re.search(re.escape(s), second.output) for s in stamps), second.output[-3000:]
    assert sim.stats()["records_served"] == len(changed) == 11

    new_truth = truth_by_key(sim)
    new_rows = postgres.rows("task_results")
    assert len(new_rows) == len(truth)
    assert_rows_match(new_rows, new_truth)
    for key in changed:
        assert new_rows[key]["read_stats"] != rows[key]["read_stats"], key
    for key in set(truth) - changed:
        assert new_rows[key]["read_stats"] == rows[key]["read_stats"], key
    resent = postgres.all(
        "SELECT task_id, case_id FROM {schema}.task_results WHERE _sdc_extracted_at > %s",
        (extracted_before,),
    )
    assert set(resent) == changed


def test_stream_map_drops_read_stats(meltano: Meltano, postgres: Postgres, sim: Simulator) -> None:
    # meltano.yml's `tap-centaur--no-read-stats`: stream_maps {task_results: {read_stats: __NULL__}}
    meltano("run", "tap-centaur--no-read-stats", "target-postgres")
    types = postgres.column_types("task_results")
    assert "read_stats" not in types
    assert types["counts"] == "jsonb"
    rows = postgres.rows("task_results")
    truth = truth_by_key(sim)
    assert set(rows) == set(truth)
    for key, row in rows.items():
        assert row["counts"] == truth[key]["counts"]


def readme_stream_maps() -> dict[str, Any]:
    """The stream maps of the README's "Stream maps" example (its first YAML block)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Stream maps", 1)[-1]
    block = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert block, "README.md has no YAML example under '### Stream maps'"
    loaded = YAML(typ="safe", pure=True).load(block.group(1))
    maps: dict[str, Any] = loaded["config"]["stream_maps"]
    return maps


def test_readme_stream_map_example_end_to_end(
    meltano: Meltano, postgres: Postgres, sim: Simulator
) -> None:
    maps = readme_stream_maps()
    meltano.env["TAP_CENTAUR_STREAM_MAPS"] = json.dumps(maps)
    meltano("run", "tap-centaur", "target-postgres")
    types = postgres.column_types("task_results")
    rows = postgres.rows("task_results")
    truth = truth_by_key(sim)
    assert set(rows) == set(truth)
    for name, expression in maps["task_results"].items():
        if expression == "__NULL__":
            assert name not in types, f"{name} should have been dropped"
    if "origin" in str(maps["task_results"].get("content_metadata", "")):
        for key, row in rows.items():
            got = [m["origin"] for m in row["content_metadata"]]
            plain = [m["origin"] for m in truth[key]["content_metadata"]]
            assert got == [hashlib.md5(o.encode()).hexdigest() for o in plain], key  # noqa: S324
