"""meltano.yml's schedule and job into PostgreSQL: full, incremental, from a state of
tap-centaur 0.1.0, then `--full-refresh`; with `emit_activate_version_messages: true`, the tap
never tells target-postgres to retire cases an incremental run did not read again."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from centaur_sim import Simulator
from tests.e2e.conftest import (
    Meltano,
    Postgres,
    activate_versions,
    assert_nothing_deleted,
    assert_rows_match,
    bookmarks,
    just_after,
    truth_by_key,
)

pytestmark = pytest.mark.e2e

STATE_ID = "dev:tap-centaur-to-target-postgres"
TABLES = ("task_results", "tasks", "projects")


def test_schedule_then_job_from_stored_and_old_state_then_full_refresh(
    meltano: Meltano, postgres: Postgres, sim: Simulator
) -> None:
    meltano.overlay("tap-centaur")
    truth = truth_by_key(sim)
    # The hourly schedule of meltano.yml, run now: its job is `tap-centaur target-postgres`.
    first = meltano("schedule", "run", "centaur-to-postgres-hourly")
    assert "No state was found" in first.output  # a private, empty state backend
    assert postgres.primary_key("task_results") == "PRIMARY KEY (task_id, case_id)"
    assert_rows_match(postgres.rows("task_results"), truth)
    # The setting reached the tap: projects and tasks (read in full) were versioned, the
    # incremental results stream was not.
    assert activate_versions(first.output) == 2
    assert "Beginning sync of 'task_results' in incremental mode" in first.output
    unversioned = "SELECT count(*) FROM {schema}.%s WHERE _sdc_table_version IS NULL"
    assert [postgres.scalar(unversioned % table) for table in TABLES] == [len(truth), 0, 0]
    assert_nothing_deleted(postgres, *TABLES)
    # Meltano stored one bookmark per task under the state id of the dev environment.
    stored = bookmarks(meltano.state(STATE_ID))
    assert set(stored) == {101, 102} and all(stored.values())

    # Some cases change; the state is replaced by one as tap-centaur 0.1.0 wrote it (UTC,
    # whole seconds, explicit offset), with task 101 at its stored bookmark and task 102
    # earlier, half-way through its cases.
    at = just_after(*stored.values())
    changed = {(101, c) for c in sim.update_cases(101, count=5, rng_seed=3, at=at)}
    changed |= {(102, c) for c in sim.update_cases(102, count=4, rng_seed=4, at=at)}
    times = sorted(case["updated_at"] for case in sim.truth_meta(102))
    cut = int(times[len(times) // 2])
    old = datetime.fromtimestamp(cut, timezone.utc).isoformat()
    since_old = {(102, int(c["case_id"])) for c in sim.truth_meta(102) if c["updated_at"] > cut}
    assert len(changed) == 9 and 30 < len(since_old) < len(sim.truth(102))
    partitions = [
        {"context": {"task_id": t}, "replication_key": "updated_after", "replication_key_value": v}
        for t, v in ((101, stored[101]), (102, old))
    ]
    old_state = {"bookmarks": {"task_results": {"partitions": partitions}}}
    meltano("state", "set", "--force", STATE_ID, json.dumps({"singer_state": old_state}))
    before = postgres.last_extracted()
    sim.reset_stats()
    # The job itself reads only what changed since each bookmark, and retires no case.
    second = meltano("run", "centaur-to-postgres")
    assert "No state was found" not in second.output
    assert stored[101][:19] in second.output  # the tap logged the bookmark it started from
    expected = {key for key in changed if key[0] == 101} | since_old
    assert sim.stats()["records_served"] == len(expected)
    assert postgres.extracted_since("task_results", before) == expected
    assert activate_versions(second.output) == 2
    assert_rows_match(postgres.rows("task_results"), truth_by_key(sim))
    assert_nothing_deleted(postgres, *TABLES)

    # --full-refresh ignores the stored state: every case is read again. With hard_delete,
    # the versions of projects and tasks delete nothing that is still there.
    meltano.env["TARGET_POSTGRES_HARD_DELETE"] = "true"
    sim.reset_stats()
    third = meltano("run", "--full-refresh", "tap-centaur", "target-postgres")
    assert "Hard delete: True" in third.output
    assert sim.stats()["records_served"] == len(truth)
    assert activate_versions(third.output) == 2
    assert_rows_match(postgres.rows("task_results"), truth_by_key(sim))
    assert postgres.scalar("SELECT count(*) FROM {schema}.tasks") == len(sim.task_ids())
    assert_nothing_deleted(postgres, *TABLES)
