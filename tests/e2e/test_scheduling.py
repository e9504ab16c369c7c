"""The README's "Scheduling": the job and schedule of meltano.yml, and two shards at once.

The shards are the README's recipe as meltano.yml declares it (`tap-centaur--shard-0` and
`tap-centaur--shard-1`, inherited extractors with `shard_count: 2`), run by Meltano at the same
time into one PostgreSQL schema, in discovery mode (no `task_ids`: every task the API lists).
Shard 0's first run, alone as the README says, has a task that fails: it also shows what a
failed scheduled run leaves for the next one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from ruamel.yaml import YAML

from centaur_sim import SimConfig, Simulator
from tests.e2e.checks import (
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
from tests.e2e.conftest import (
    ROOT,
    Meltano,
    Postgres,
    RunResult,
    emit_activate_version,
    overlay_project,
    plugin,
)

pytestmark = pytest.mark.e2e

JOB = "centaur-to-postgres"
SCHEDULE = "centaur-to-postgres-hourly"
SHARDS = ("tap-centaur--shard-0", "tap-centaur--shard-1")
#: Timestamps of Meltano's log lines.
STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z ")


def state_id(extractor: str) -> str:
    """Meltano's state id of `meltano run EXTRACTOR target-postgres` in the dev environment."""
    return f"dev:{extractor}-to-target-postgres"


def json_output(result: RunResult) -> Any:
    return json.loads(result.stdout[result.stdout.index("{") :])


def test_meltano_lists_the_hourly_schedule_of_the_job(meltano: Meltano) -> None:
    # What orchestrators read: Meltano's Airflow DAG generator and dagster-meltano list the
    # schedules and jobs with these commands.
    schedules = json_output(meltano("schedule", "list", "--format=json"))["schedules"]
    assert schedules["elt"] == []
    [schedule] = schedules["job"]
    assert schedule["name"] == SCHEDULE
    assert (schedule["interval"], schedule["cron_interval"]) == ("@hourly", "0 * * * *")
    assert schedule["job"] == {"name": JOB, "tasks": ["tap-centaur target-postgres"]}
    jobs = json_output(meltano("job", "list", "--format=json"))["jobs"]
    assert jobs == [{"job_name": JOB, "tasks": ["tap-centaur target-postgres"]}]


def readme_yaml(heading: str) -> Any:
    """The first YAML block of the README after `heading`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", readme.split(f"\n{heading}\n", 1)[-1], re.DOTALL)
    assert block, f"README.md has no YAML block under {heading!r}"
    return YAML(typ="safe", pure=True).load(block.group(1))


def test_readme_scheduling_blocks_are_what_meltano_yml_declares() -> None:
    project = YAML(typ="safe", pure=True).load((ROOT / "meltano.yml").read_text("utf-8"))
    assert readme_yaml("## Scheduling") == {
        "jobs": project["jobs"],
        "schedules": project["schedules"],
    }
    recipe = readme_yaml("### Sharding: several jobs, one warehouse")
    declared = [plugin(project, "extractors", name) for name in SHARDS]
    assert recipe == declared
    assert [p["config"] for p in declared] == [
        {"shard_count": 2, "shard_index": 0},
        {"shard_count": 2, "shard_index": 1},
    ]


# --- two shards at the same time -----------------------------------------------------------


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """Six tasks in three projects; shard 0 has the even task ids, shard 1 the odd ones."""
    config = SimConfig(
        port=0,
        tasks=6,
        first_task_id=101,
        cases=(50, 30, 45, 20, 35, 25),
        seed=12,
        record_requests=True,
    )
    with Simulator(config) as simulator:
        yield simulator


def shard_of(task_id: int) -> int:
    """The README's mapping: a task belongs to shard task_id % shard_count."""
    return task_id % 2


def change_cases(sim: Simulator, at: float) -> set[tuple[int, int]]:
    """Give three cases of every task a new read at `at`; return their keys."""
    changed = set()
    for task_id in sim.task_ids():
        for case_id in sim.update_cases(task_id, count=3, rng_seed=task_id, at=at):
            changed.add((task_id, case_id))
    return changed


def tap_window(result: RunResult, extractor: str) -> tuple[datetime, datetime]:
    """From the tap's first log line to the loader's last: when the run moved data."""
    stamps = [
        datetime.fromisoformat(found.group(1))
        for line in result.output.splitlines()
        if (f"] {extractor} " in line or "] target-postgres " in line)
        and (found := STAMP.match(line))
    ]
    assert stamps, f"no log line of {extractor} or target-postgres"
    return min(stamps), max(stamps)


def test_two_shards_at_the_same_time_load_every_task_once(
    meltano: Meltano, postgres: Postgres, sim: Simulator
) -> None:
    tasks = {0: {t for t in sim.task_ids() if shard_of(t) == 0}}
    tasks[1] = set(sim.task_ids()) - tasks[0]
    projects = {t["project_id"] for t in sim.tasks_truth()}
    assert len(tasks[0]) == len(tasks[1]) == 3 and len(projects) == 3
    meltano.env["TAP_CENTAUR_TASK_IDS"] = "[]"  # discovery: every task the API lists
    # With ACTIVATE_VERSION messages on, a shard (which reads a part of the tasks) must send
    # none, or target-postgres would mark the other shard's rows deleted.
    overlay_project(meltano, emit_activate_version(*SHARDS))

    # The README: the first time, one shard runs alone (it creates the tables, and Meltano's
    # system database: two loaders creating the same table at once fail, as do two Meltanos
    # creating a new system database). It reads its own tasks only. One of them, 106, answers
    # a page the tap rejects: the run fails (exit 1), and Meltano keeps the bookmarks of the
    # others, for the next run to go on from (README "Scheduling").
    sim.set_misbehaviour(106, "missing_case_id")
    failed = meltano("run", SHARDS[0], "target-postgres", check=False)
    assert failed.returncode != 0 and "task 106" in failed.output, failed.output[-3000:]
    sim.set_misbehaviour(106, None)
    assert activate_versions(failed.output) == 0
    assert set(first_pages_per_task(sim)) == tasks[0]
    synced = tasks[0] - {106}
    assert_rows_match(postgres.rows("task_results"), truth_by_key(sim, synced))
    assert {r[0] for r in postgres.all("SELECT project_id FROM {schema}.projects")} == projects
    assert {r[0] for r in postgres.all("SELECT task_id FROM {schema}.tasks")} == tasks[0]
    marks = {0: bookmarks(meltano.state(state_id(SHARDS[0])))}
    assert set(marks[0]) == synced

    # Cases change in every task, stamped just after shard 0's bookmarks; then both shards run
    # at once: shard 1's first run reads its tasks in full, shard 0 its changed cases and task
    # 106 (no bookmark yet) in full.
    changed = change_cases(sim, at=just_after(*marks[0].values()))
    sim.reset_stats()
    runs = meltano.concurrently([("run", SHARDS[1], "target-postgres"),
                                 ("run", SHARDS[0], "target-postgres")])  # fmt: skip
    windows = [tap_window(run, name) for run, name in zip(runs, SHARDS[::-1], strict=True)]
    assert windows[0][0] < windows[1][1] and windows[1][0] < windows[0][1], (
        f"the two runs did not overlap: {windows}"
    )
    in_full = sum(len(sim.truth(t)) for t in tasks[1] | {106})
    shard0_changed = {key for key in changed if key[0] in synced}
    assert sim.stats()["records_served"] == in_full + len(shard0_changed)
    # Each task was read once, by its own shard: from its bookmark, or in full without one.
    assert first_pages_per_task(sim) == dict.fromkeys(sim.task_ids(), 1)
    for params in first_pages(sim):
        task_id = int(params["task_id"])
        expected = updated_after(marks[0][task_id]) if task_id in marks[0] else None
        assert params.get("updated_after") == expected, params
    # Together, every case of every task exactly once (the table's key), with the API's values.
    assert_rows_match(postgres.rows("task_results"), truth_by_key(sim))
    assert sorted(r[0] for r in postgres.all("SELECT task_id FROM {schema}.tasks")) == sorted(
        sim.task_ids()
    )
    assert [activate_versions(run.output) for run in runs] == [0, 0]
    assert_nothing_deleted(postgres, "task_results", "tasks", "projects")
    counts = [record_counts(run.output) for run in runs]
    assert (counts[0]["projects"], counts[1]["projects"]) == (0, len(projects))
    assert (counts[0]["tasks"], counts[1]["tasks"]) == (3, 3)
    marks = {n: bookmarks(meltano.state(state_id(SHARDS[n]))) for n in (0, 1)}
    assert (set(marks[0]), set(marks[1])) == (tasks[0], tasks[1])

    # More changes, and both shards again at once: each reads only its changed cases.
    before = postgres.scalar("SELECT max(_sdc_extracted_at) FROM {schema}.task_results")
    changed = change_cases(sim, at=just_after(*marks[0].values(), *marks[1].values()))
    sim.reset_stats()
    runs = meltano.concurrently([("run", SHARDS[0], "target-postgres"),
                                 ("run", SHARDS[1], "target-postgres")])  # fmt: skip
    assert [activate_versions(run.output) for run in runs] == [0, 0]
    assert sim.stats()["records_served"] == len(changed) == 18
    assert first_pages_per_task(sim) == dict.fromkeys(sim.task_ids(), 1)
    for params in first_pages(sim):
        task_id = int(params["task_id"])
        assert params["updated_after"] == updated_after(marks[shard_of(task_id)][task_id])
    assert_rows_match(postgres.rows("task_results"), truth_by_key(sim))
    resent = postgres.all(
        "SELECT task_id, case_id FROM {schema}.task_results WHERE _sdc_extracted_at > %s",
        (before,),
    )
    assert set(resent) == changed
    assert_nothing_deleted(postgres, "task_results", "tasks", "projects")
