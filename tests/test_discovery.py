"""Without task_ids the tap syncs every task the API lists (v2 tasks: test_results_v2.py), and
shards share the tasks by `task_id % shard_count`, each with its own state."""

from __future__ import annotations

from tests.harness import login_config, partition_bookmarks

TEN_TASKS = {"tasks": 10, "cases": (4, 3, 0, 5, 2, 6, 1, 3, 2, 4)}


def test_project_ids_limit_discovery_and_no_task_found_is_a_warning(make_sim, tap):
    sim = make_sim(**TEN_TASKS)
    project = sim.truth(104)[0]["project_id"]
    in_project = sorted({c["task_id"] for c in sim.truth() if c["project_id"] == project})
    run = tap.run(login_config(sim.url, None, project_ids=[project]))
    assert run.exit_code == 0, run.stderr
    assert sorted({t for t, _ in run.keys}) == in_project
    assert {r["project_id"] for r in run.records_of("tasks")} == {project}
    none = tap.run(login_config(sim.url, None, project_ids=[99999]))
    assert none.exit_code == 0, none.stderr
    assert none.keys == []
    assert "No task to sync" in none.stderr


def test_selecting_only_task_results_still_discovers(make_sim, tap):
    sim = make_sim(**TEN_TASKS)
    config = login_config(sim.url, None)
    catalog_path = tap.catalog_selecting(config, ["task_results"])
    run = tap.run(config, args=("--catalog", str(catalog_path)))
    assert run.exit_code == 0, run.stderr
    assert run.records_of("tasks") == []
    assert {m["stream"] for m in run.messages if m["type"] == "SCHEMA"} == {"task_results"}
    assert sorted(run.keys) == sorted(sim.keys())
    assert sim.stats()["requests"]["/tasks/public/v1/list"]


def test_shards_sync_each_task_once_and_a_tasks_shard_never_changes(make_sim, tap):
    """Only shard 0 writes the projects: shards loading one warehouse never write the same rows.
    New tasks fall to their shard, whose next run reads them alone and keeps its bookmarks."""
    sim = make_sim(**TEN_TASKS)
    configs = [login_config(sim.url, None, shard_count=3, shard_index=i) for i in range(3)]
    runs = [tap.run(config) for config in configs]
    for index, run in enumerate(runs):
        assert run.exit_code == 0, run.stderr
        shard = {t for t in sim.task_ids() if t % 3 == index}
        assert {task for task, _ in run.keys} <= shard
        assert {r["task_id"] for r in run.records_of("tasks")} == shard
        assert {task for task, _ in partition_bookmarks(run.final_state)} == shard
    assert sorted(key for run in runs for key in run.keys) == sorted(sim.keys())
    projects = {t["project_id"] for t in sim.tasks_truth()}
    assert [len(run.records_of("projects")) for run in runs] == [len(projects), 0, 0]
    old = set(sim.task_ids())
    for _ in range(5):
        sim.add_task(cases=1)
    after = tap.run(configs[1], runs[1].final_state)
    assert after.exit_code == 0, after.stderr
    shard = {t for t in sim.task_ids() if t % 3 == 1}
    assert {r["task_id"] for r in after.records_of("tasks")} == shard
    assert {task for task, _ in after.keys} == shard - old
    assert {task for task, _ in partition_bookmarks(after.final_state)} == shard


def test_explicit_task_ids_and_case_ids_are_sharded_by_their_task(make_sim, tap):
    sim = make_sim(**TEN_TASKS)
    cases = [{"task_id": t, "case_id": sim.truth(t)[0]["case_id"]} for t in (101, 102, 104)]
    for index in (0, 1):
        config = login_config(sim.url, [101, 102, 103, 104], case_ids=cases, shard_count=2)
        run = tap.run({**config, "shard_index": index})
        assert run.exit_code == 0, run.stderr
        assert {task for task, _ in run.keys} == {t for t in (101, 102, 104) if t % 2 == index}
        assert sorted(r["case_id"] for r in run.records_of("case_results")) == sorted(
            c["case_id"] for c in cases if c["task_id"] % 2 == index
        )
