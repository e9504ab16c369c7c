"""Without task_ids the tap syncs every task the API lists, and picks up new ones."""

from __future__ import annotations

from tests.harness import login_config, partition_bookmarks

#: Five tasks in three projects (two per project); task 105's type is not served by v1.
DISCOVERY_SIM = {"tasks": 5, "cases": (60, 35, 0, 80, 20), "unsupported_task_ids": (105,)}


def discovery_config(url, **extra):
    config = login_config(url, [], **extra)
    del config["task_ids"]
    return config


def served_keys(sim, task_ids):
    return sorted((c["task_id"], c["case_id"]) for t in task_ids for c in sim.truth(t))


def test_every_listed_task_is_synced_and_unsupported_ones_are_skipped(make_sim, tap):
    sim = make_sim(**DISCOVERY_SIM)
    run = tap.run(discovery_config(sim.url))
    assert run.exit_code == 0, run.stderr
    assert sorted(run.keys) == served_keys(sim, [101, 102, 103, 104])
    assert sorted(r["task_id"] for r in run.records_of("tasks")) == [101, 102, 103, 104, 105]
    assert set(partition_bookmarks(run.final_state)) == {(t, None) for t in (101, 102, 103, 104)}
    warnings = [
        line for line in run.stderr.splitlines() if "task 105" in line and "skipped" in line
    ]
    assert len(warnings) == 1
    name = next(t["task_name"] for t in run.records_of("tasks") if t["task_id"] == 105)
    assert repr(name) in warnings[0]
    assert "Skipped 1 discovered task(s)" in run.stderr
    assert "105" in next(line for line in run.stderr.splitlines() if "Skipped 1" in line)


def test_project_ids_limit_discovery(make_sim, tap):
    sim = make_sim(**DISCOVERY_SIM)
    project = sim.truth(104)[0]["project_id"]
    in_project = sorted({c["task_id"] for c in sim.truth() if c["project_id"] == project})
    run = tap.run(discovery_config(sim.url, project_ids=[project]))
    assert run.exit_code == 0, run.stderr
    assert in_project
    assert sorted({t for t, _ in run.keys}) == in_project
    assert {r["project_id"] for r in run.records_of("tasks")} == {project}


def test_a_new_task_is_picked_up_and_old_bookmarks_are_kept(make_sim, tap):
    sim = make_sim(**DISCOVERY_SIM)
    first = tap.run(discovery_config(sim.url, start_date="2000-01-01"))
    new_task = sim.add_task(cases=12)
    second = tap.run(discovery_config(sim.url, start_date="2000-01-01"), first.final_state)
    assert second.exit_code == 0, second.stderr
    assert sorted(second.keys) == served_keys(sim, [new_task])
    bookmarks = partition_bookmarks(second.final_state)
    assert (new_task, None) in bookmarks
    assert {k: v for k, v in bookmarks.items() if k[0] != new_task}.keys() == (
        partition_bookmarks(first.final_state).keys()
    )


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
    assert run.exit_code == 0, run.stderr
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
