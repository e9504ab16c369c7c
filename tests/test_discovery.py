"""Without task_ids the tap syncs every task the API lists (new ones: test_sharding.py)."""

from __future__ import annotations

from tap_centaur.schemas import CASE_RESULT_V2_SCHEMA as V2_SCHEMA
from tests.harness import as_emitted, login_config, partition_bookmarks

#: Five tasks in three projects (two per project); task 105's type is not served by v1.
DISCOVERY_SIM = {"tasks": 5, "cases": (60, 35, 0, 80, 20), "unsupported_task_ids": (105,)}


def discovery_config(url, **extra):
    config = login_config(url, [], **extra)
    del config["task_ids"]
    return config


def served_keys(sim, task_ids):
    return sorted((c["task_id"], c["case_id"]) for t in task_ids for c in sim.truth(t))


def test_every_listed_task_is_synced_v2_tasks_through_results_v2(make_sim, tap):
    """Discovery with v1 and v2 tasks: a task v1 answers 426 for is read through v2, once
    named in the log, and remembered in the state so that the next run asks v2 directly."""
    sim = make_sim(**DISCOVERY_SIM)
    run = tap.run(discovery_config(sim.url))
    assert run.exit_code == 0, run.stderr
    assert sorted(run.keys) == served_keys(sim, [101, 102, 103, 104])
    assert run.records_of("task_results_v2") == as_emitted(sim.truth_v2(105), V2_SCHEMA)
    assert sorted(r["task_id"] for r in run.records_of("tasks")) == [101, 102, 103, 104, 105]
    assert set(partition_bookmarks(run.final_state)) == {(t, None) for t in (101, 102, 103, 104)}
    v2 = partition_bookmarks(run.final_state, stream="task_results_v2")
    assert set(v2) == {(105, None)}
    notices = [line for line in run.stderr.splitlines() if "task 105" in line and "426" in line]
    assert len(notices) == 1
    name = next(t["task_name"] for t in run.records_of("tasks") if t["task_id"] == 105)
    assert repr(name) in notices[0]

    sim.reset_stats()
    sim.update_cases(105, count=3)
    again = tap.run(discovery_config(sim.url), run.final_state)
    assert again.exit_code == 0, again.stderr
    answers = sim.stats()["requests"].values()
    assert sum(by_status.get("426", 0) for by_status in answers) == 0  # no 426 per run
    changed = {(c["task_id"], c["case_id"]) for c in sim.truth_v2(105)}
    assert {(r["task_id"], r["case_id"]) for r in again.records_of("task_results_v2")} <= changed
    assert len(again.records_of("task_results_v2")) >= 3


def test_project_ids_limit_discovery(make_sim, tap):
    sim = make_sim(**DISCOVERY_SIM)
    project = sim.truth(104)[0]["project_id"]
    in_project = sorted({c["task_id"] for c in sim.truth() if c["project_id"] == project})
    run = tap.run(discovery_config(sim.url, project_ids=[project]))
    assert run.exit_code == 0, run.stderr
    assert in_project
    assert sorted({t for t, _ in run.keys}) == in_project
    assert {r["project_id"] for r in run.records_of("tasks")} == {project}


def test_state_from_explicit_task_ids_keeps_working(make_sim, tap):
    sim = make_sim(**DISCOVERY_SIM)
    explicit = tap.run(login_config(sim.url, [101, 102]))
    discovered = tap.run(discovery_config(sim.url), explicit.final_state)
    assert discovered.exit_code == 0, discovered.stderr
    assert {t for t, _ in discovered.keys} == {104}  # 101 and 102 unchanged; 103 is empty


def test_selecting_only_task_results_still_discovers(make_sim, tap):
    sim = make_sim(**DISCOVERY_SIM)
    config = discovery_config(sim.url)
    catalog_path = tap.catalog_selecting(config, ["task_results"])
    sim.reset_stats()
    run = tap.run(config, args=("--catalog", str(catalog_path)))
    # Task 105 only results v2 serves, and task_results_v2 is not selected: it fails, saying so.
    assert run.exit_code == 1, run.stderr
    assert "task 105" in run.error_lines[-1] and "task_results_v2" in run.error_lines[-1]
    assert run.records_of("tasks") == []
    assert {m["stream"] for m in run.messages if m["type"] == "SCHEMA"} == {"task_results"}
    assert sorted(run.keys) == served_keys(sim, [101, 102, 103, 104])
    assert sim.stats()["requests"]["/tasks/public/v1/list"]


def test_projects_stream(make_sim, tap):
    sim = make_sim(**DISCOVERY_SIM)
    run = tap.run(login_config(sim.url, [103]))
    projects = run.records_of("projects")
    assert sorted(p["project_id"] for p in projects) == sorted(
        {c["project_id"] for c in sim.truth()} | {t["project_id"] for t in run.records_of("tasks")}
    )


def test_no_task_found_is_a_warning_not_a_crash(make_sim, tap):
    sim = make_sim(**DISCOVERY_SIM)
    run = tap.run(discovery_config(sim.url, project_ids=[99999]))
    assert run.exit_code == 0, run.stderr
    assert run.keys == []
    assert "No task to sync" in run.stderr
