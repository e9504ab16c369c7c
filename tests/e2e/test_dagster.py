"""Dagster (in-process, a thread per run) runs this project's Meltano jobs (orchestrate/) through
Pipes: meltano.yml's shard jobs (the README's recipe) at the same time, in discovery mode into one
schema, with ACTIVATE_VERSION messages on, which a shard must not send."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from dagster import Definitions, EventLogEntry, ExecuteInProcessResult

from centaur_sim import SimConfig, Simulator
from tests.e2e.conftest import (
    Meltano,
    Postgres,
    activate_versions,
    assert_nothing_deleted,
    assert_rows_match,
    bookmarks,
    first_pages,
    first_pages_per_task,
    just_after,
    record_counts,
    truth_by_key,
    updated_after,
)
from tests.test_orchestrate import messages, run_job

pytestmark = pytest.mark.e2e

SHARDS = ("tap-centaur--shard-0", "tap-centaur--shard-1")
SHARD_JOBS = ("centaur_shard_0", "centaur_shard_1")
STATE_IDS = [f"dev:{shard}-to-target-postgres" for shard in SHARDS]
Log = Sequence[EventLogEntry]
#: Timestamps of Meltano's log lines.
STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z ")


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """Six tasks in three projects; shard 0 has the even task ids, shard 1 the odd ones."""
    config = SimConfig(
        port=0, tasks=6, cases=(50, 30, 45, 20, 35, 25), seed=12, record_requests=True
    )
    with Simulator(config) as simulator:
        yield simulator


def test_the_code_location_loads_meltanos_jobs_and_hourly_schedule(
    meltano_bin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What `dagster dev -m orchestrate.definitions` loads: this repository's meltano.yml, as
    # `meltano job list` and `meltano schedule list` give it to orchestrators.
    monkeypatch.setenv("MELTANO_BIN", meltano_bin)
    monkeypatch.delenv("MELTANO_PROJECT_ROOT", raising=False)
    from orchestrate.definitions import defs

    ops = {job.name: [node.name for node in job.nodes] for job in defs.resolve_all_job_defs()}
    assert ops == {
        "centaur_to_postgres": ["tap_centaur_target_postgres_1"],
        "centaur_shard_0": ["tap_centaur__shard_0_target_postgres_1"],
        "centaur_shard_1": ["tap_centaur__shard_1_target_postgres_1"],
    }
    schedule = defs.resolve_schedule_def("centaur_to_postgres_hourly")
    assert (schedule.cron_schedule, schedule.job_name) == ("0 * * * *", "centaur_to_postgres")


def run_jobs(defs: Definitions, *names: str) -> list[tuple[ExecuteInProcessResult, Log]]:
    with ThreadPoolExecutor(len(names)) as pool:
        return list(pool.map(lambda name: run_job(defs, name), names, timeout=600))


def tap_window(log: Log, extractor: str) -> tuple[datetime, datetime]:
    """From the tap's first log line to the loader's last: when the run moved data."""
    stamps = [
        datetime.fromisoformat(found.group(1))
        for line in messages(log)
        if (f"] {extractor} " in line or "] target-postgres " in line)
        and (found := STAMP.match(line))
    ]
    assert stamps, f"no log line of {extractor} or target-postgres"
    return min(stamps), max(stamps)


def change_cases(sim: Simulator, at: float) -> set[tuple[int, int]]:
    return {(t, c) for t in sim.task_ids() for c in sim.update_cases(t, count=3, rng_seed=t, at=at)}


def assert_each_task_read_once_from(sim: Simulator, marks: dict[int, str]) -> None:
    assert first_pages_per_task(sim) == dict.fromkeys(sim.task_ids(), 1)
    for params in first_pages(sim):
        mark = marks.get(int(params["task_id"]))
        assert params.get("updated_after") == (mark and updated_after(mark)), params


def test_dagster_runs_the_shard_jobs_at_the_same_time(
    meltano: Meltano, postgres: Postgres, sim: Simulator
) -> None:
    from orchestrate.meltano_jobs import definitions

    tasks = {0: {t for t in sim.task_ids() if t % 2 == 0}}
    tasks[1] = set(sim.task_ids()) - tasks[0]
    projects = {t["project_id"] for t in sim.tasks_truth()}
    assert len(tasks[0]) == len(tasks[1]) == 3 and len(projects) == 3
    meltano.env["TAP_CENTAUR_TASK_IDS"] = "[]"  # discovery: every task the API lists
    meltano.overlay(*SHARDS)
    defs = definitions(meltano.project, meltano.executable, meltano.env)

    # The first time, one shard alone (it creates the tables and Meltano's system database).
    # Task 106 answers a page the tap rejects: the Dagster run fails, the tap's one-line
    # reason in its log, and Meltano keeps the bookmarks of the other tasks.
    sim.set_misbehaviour(106, "missing_case_id")
    [(failed, log)] = run_jobs(defs, SHARD_JOBS[0])
    sim.set_misbehaviour(106, None)
    assert not failed.success
    errors = messages(log, logging.ERROR)
    assert any("task 106" in line and "case_id" in line for line in errors), errors
    assert errors[-1] == "meltano run tap-centaur--shard-0 target-postgres exited with code 1"
    assert activate_versions("\n".join(messages(log))) == 0
    assert set(first_pages_per_task(sim)) == tasks[0]
    synced = tasks[0] - {106}
    assert_rows_match(postgres.rows("task_results"), truth_by_key(sim, synced))
    assert {r[0] for r in postgres.all("SELECT project_id FROM {schema}.projects")} == projects
    marks = {0: bookmarks(meltano.state(STATE_IDS[0]))}
    assert set(marks[0]) == synced

    # Cases change in every task, stamped just after shard 0's bookmarks; then Dagster runs
    # both shard jobs at once: shard 1's first run reads its tasks in full, shard 0 its changed
    # cases and task 106 (no bookmark yet) in full.
    changed = change_cases(sim, at=just_after(*marks[0].values()))
    sim.reset_stats()
    runs = run_jobs(defs, SHARD_JOBS[1], SHARD_JOBS[0])
    assert [result.success for result, _ in runs] == [True, True]
    windows = [tap_window(log, name) for (_, log), name in zip(runs, SHARDS[::-1], strict=True)]
    assert windows[0][0] < windows[1][1] and windows[1][0] < windows[0][1], windows  # overlap
    in_full = sum(len(sim.truth(t)) for t in tasks[1] | {106})
    shard0_changed = {key for key in changed if key[0] in synced}
    assert sim.stats()["records_served"] == in_full + len(shard0_changed)
    assert_each_task_read_once_from(sim, marks[0])
    # Together, every case of every task exactly once (the table's key), with the API's values.
    assert_rows_match(postgres.rows("task_results"), truth_by_key(sim))
    assert {r[0] for r in postgres.all("SELECT task_id FROM {schema}.tasks")} == set(sim.task_ids())
    outputs = ["\n".join(messages(log)) for _, log in runs]
    assert [activate_versions(output) for output in outputs] == [0, 0]
    assert_nothing_deleted(postgres, "task_results", "tasks", "projects")
    counts = [(c["projects"], c["tasks"]) for c in map(record_counts, outputs)]
    assert counts == [(0, 3), (len(projects), 3)]  # (shard 1, shard 0): projects from shard 0
    marks = {n: bookmarks(meltano.state(STATE_IDS[n])) for n in (0, 1)}
    assert (set(marks[0]), set(marks[1])) == (tasks[0], tasks[1])

    # More changes, and both shard jobs again at once: each reads only its changed cases.
    before = postgres.last_extracted()
    changed = change_cases(sim, at=just_after(*marks[0].values(), *marks[1].values()))
    sim.reset_stats()
    runs = run_jobs(defs, *SHARD_JOBS)
    assert [result.success for result, _ in runs] == [True, True]
    assert sim.stats()["records_served"] == len(changed) == 18
    assert_each_task_read_once_from(sim, marks[0] | marks[1])
    assert_rows_match(postgres.rows("task_results"), truth_by_key(sim))
    assert postgres.extracted_since("task_results", before) == changed
    assert_nothing_deleted(postgres, "task_results", "tasks", "projects")
