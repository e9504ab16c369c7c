"""`task_results` is incremental through Meltano, with ACTIVATE_VERSION messages on (issue 13).

With `emit_activate_version_messages: true` (an SDK setting that only meltano.yml can give the
tap: the plugin definition does not declare it, so no environment variable reaches it), the
tap must never tell target-postgres to retire cases an incremental run did not read again.
`meltano run --full-refresh` ignores the stored state, and a state written by tap-centaur 0.1.0
is resumed where it stands.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from centaur_sim import Simulator
from tests.e2e.checks import (
    activate_versions,
    assert_nothing_deleted,
    assert_rows_match,
    bookmarks,
    just_after,
    truth_by_key,
)
from tests.e2e.conftest import Meltano, Postgres, emit_activate_version, overlay_project

pytestmark = pytest.mark.e2e

STATE_ID = "dev:tap-centaur-to-target-postgres"
TABLES = ("task_results", "tasks", "projects")


def at_second(epoch: float) -> str:
    """A bookmark as tap-centaur 0.1.0 wrote it: UTC, whole seconds, explicit offset."""
    moment = datetime.fromtimestamp(int(epoch), timezone.utc)
    return moment.isoformat()


def test_incremental_runs_keep_every_case_with_activate_version_on(
    meltano: Meltano, postgres: Postgres, sim: Simulator
) -> None:
    overlay_project(meltano, emit_activate_version("tap-centaur"))
    truth = truth_by_key(sim)
    first = meltano("run", "tap-centaur", "target-postgres")
    # The setting reached the tap: projects and tasks (read in full) were versioned...
    assert activate_versions(first.output) == 2
    for table in ("tasks", "projects"):
        assert (
            postgres.scalar(
                f"SELECT count(*) FROM {{schema}}.{table} WHERE _sdc_table_version IS NULL"
            )
            == 0
        )
    # ...but not the incremental results stream.
    assert "Beginning sync of 'task_results' in incremental mode" in first.output
    assert (
        postgres.scalar(
            "SELECT count(*) FROM {schema}.task_results WHERE _sdc_table_version IS NOT NULL"
        )
        == 0
    )
    assert_rows_match(postgres.rows("task_results"), truth)
    assert_nothing_deleted(postgres, *TABLES)
    stored = bookmarks(meltano.state(STATE_ID))
    assert set(stored) == {101, 102}

    # Some cases change; then the state is replaced by one as tap-centaur 0.1.0 wrote it, with
    # task 101 at its stored bookmark and task 102 earlier, half-way through its cases.
    at = just_after(*stored.values())
    changed = {(101, c) for c in sim.update_cases(101, count=5, rng_seed=3, at=at)}
    changed |= {(102, c) for c in sim.update_cases(102, count=4, rng_seed=4, at=at)}
    times = sorted(case["updated_at"] for case in sim.truth_meta(102))
    old_bookmark = at_second(times[len(times) // 2])
    since_old = {
        (102, int(case["case_id"]))
        for case in sim.truth_meta(102)
        if case["updated_at"] > datetime.fromisoformat(old_bookmark).timestamp()
    }
    assert len(changed) == 9 and 30 < len(since_old) < len(sim.truth(102))
    old_state = {
        "bookmarks": {
            "task_results": {
                "partitions": [
                    {
                        "context": {"task_id": 101},
                        "replication_key": "updated_after",
                        "replication_key_value": stored[101],
                    },
                    {
                        "context": {"task_id": 102},
                        "replication_key": "updated_after",
                        "replication_key_value": old_bookmark,
                    },
                ]
            }
        }
    }
    meltano.set_state(STATE_ID, old_state)
    before = postgres.scalar("SELECT max(_sdc_extracted_at) FROM {schema}.task_results")
    sim.reset_stats()
    second = meltano("run", "tap-centaur", "target-postgres")
    # Only what changed since each bookmark was read, and no case was retired.
    expected = {key for key in changed if key[0] == 101} | since_old
    assert sim.stats()["records_served"] == len(expected)
    resent = postgres.all(
        "SELECT task_id, case_id FROM {schema}.task_results WHERE _sdc_extracted_at > %s",
        (before,),
    )
    assert set(resent) == expected
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
