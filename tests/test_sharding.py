"""Sharding: jobs share the tasks by `task_id % shard_count`, each with its own state."""

from __future__ import annotations

from tests.harness import login_config, partition_bookmarks

TEN_TASKS = {"tasks": 10, "cases": (4, 3, 0, 5, 2, 6, 1, 3, 2, 4)}


def discovery(url, **extra):
    config = login_config(url, [], **extra)
    del config["task_ids"]
    return config


def test_each_shard_syncs_its_tasks_and_together_they_sync_each_once(make_sim, tap):
    sim = make_sim(**TEN_TASKS)
    runs = [tap.run(discovery(sim.url, shard_count=3, shard_index=i)) for i in range(3)]
    everything = {(c["task_id"], c["case_id"]) for c in sim.truth()}
    for index, run in enumerate(runs):
        assert run.exit_code == 0, run.stderr
        assert {task for task, _ in run.keys} <= {t for t in sim.task_ids() if t % 3 == index}
        assert {r["task_id"] for r in run.records_of("tasks")} == {
            t for t in sim.task_ids() if t % 3 == index
        }
        assert {task for task, _ in partition_bookmarks(run.final_state)} == {
            t for t in sim.task_ids() if t % 3 == index
        }
    keys = [key for run in runs for key in run.keys]
    assert sorted(keys) == sorted(everything)  # every case once, in one shard only
    # Only shard 0 writes the projects: shards loading one warehouse never write the same rows.
    projects = {t["project_id"] for t in sim.tasks_truth()}
    assert [len(run.records_of("projects")) for run in runs] == [len(projects), 0, 0]


def test_new_tasks_are_picked_up_and_a_tasks_shard_never_changes(make_sim, tap):
    sim = make_sim(**TEN_TASKS)
    before = tap.run(discovery(sim.url, shard_count=4, shard_index=1))
    for _ in range(5):
        sim.add_task(cases=1)
    after = tap.run(discovery(sim.url, shard_count=4, shard_index=1), before.final_state)
    assert after.exit_code == 0, after.stderr
    shard = {t for t in sim.task_ids() if t % 4 == 1}
    assert {r["task_id"] for r in after.records_of("tasks")} == shard
    old = {task for task, _ in partition_bookmarks(before.final_state)}
    assert old <= shard  # the tasks the shard had are still its own
    assert {task for task, _ in after.keys} == shard - old  # only the new ones are read
    assert {task for task, _ in partition_bookmarks(after.final_state)} == shard  # old ones kept


def test_explicit_task_ids_are_sharded_too(make_sim, tap):
    sim = make_sim(**TEN_TASKS)
    run = tap.run(login_config(sim.url, [101, 102, 103, 104], shard_count=2, shard_index=0))
    assert run.exit_code == 0, run.stderr
    assert {task for task, _ in run.keys} == {102, 104}


def test_case_ids_are_sharded_by_their_task(make_sim, tap):
    sim = make_sim(tasks=3, cases=(10, 10, 10), page_size=10)
    cases = [
        {"task_id": task, "case_id": sim.truth(task)[0]["case_id"]} for task in (101, 102, 103)
    ]
    emitted = []
    for index in (0, 1):
        config = login_config(sim.url, [], case_ids=cases, shard_count=2, shard_index=index)
        run = tap.run(
            config, args=["--catalog", str(tap.catalog_selecting(config, ["case_results"]))]
        )
        assert run.exit_code == 0, run.stderr
        tasks = {r["task_id"] for r in run.records_of("case_results")}
        assert tasks == {t for t in (101, 102, 103) if t % 2 == index}
        emitted += run.records_of("case_results")
    assert sorted(r["case_id"] for r in emitted) == sorted(c["case_id"] for c in cases)
