"""Results v2: tasks that v1 does not serve (HTTP 426), read with the same rules as v1 (issue 13;
labeling states: test_full_sync.py, case_ids: test_sdk_suite.py, bad pages: test_pagination.py)."""

from __future__ import annotations

from tap_centaur.schemas import CASE_RESULT_SCHEMA
from tap_centaur.schemas import CASE_RESULT_V2_SCHEMA as V2_SCHEMA
from tests.harness import as_emitted, login_config, partition_bookmarks

V1_AND_V2 = {"tasks": 3, "cases": (40, 60, 25), "page_size": 10, "unsupported_task_ids": (102,)}


def test_a_v2_task_is_read_through_v2_with_its_own_bookmark_and_remembered(make_sim, tap):
    """A listed task that v1 answers 426 for is read through v2, said once; the state remembers
    it, so the next run asks v2 directly. A state of explicit task_ids serves discovery too."""
    sim = make_sim(tasks=5, cases=(60, 35, 0, 80, 20), unsupported_task_ids=(105,))
    explicit = tap.run(login_config(sim.url, [101, 102]))
    run = tap.run(login_config(sim.url, None), explicit.final_state)
    assert run.exit_code == 0, run.stderr
    assert sorted(run.keys) == sorted(sim.keys(104))  # 101 and 102 unchanged; 103 is empty
    assert run.records_of("task_results_v2") == as_emitted(sim.truth_v2(105), V2_SCHEMA)
    assert sorted(r["task_id"] for r in run.records_of("tasks")) == [101, 102, 103, 104, 105]
    assert set(partition_bookmarks(run.final_state)) == {(t, None) for t in (101, 102, 103, 104)}
    assert set(partition_bookmarks(run.final_state, "task_results_v2")) == {(105, None)}
    notice = [line for line in run.stderr.splitlines() if "HTTP 426" in line]
    name = next(t["task_name"] for t in run.records_of("tasks") if t["task_id"] == 105)
    assert len(notice) == 1 and f"task 105 ({name!r})" in notice[0]
    assert "read through results v2 (stream task_results_v2) from now on" in notice[0]
    assert "task_ids" not in notice[0]  # nothing for the user to edit

    changed = set(sim.update_cases(105, count=4))
    sim.reset_stats()
    again = tap.run(login_config(sim.url, None), run.final_state)
    assert again.exit_code == 0, again.stderr
    assert {r["case_id"] for r in again.records_of("task_results_v2")} == changed
    assert again.records == []
    assert not [by_status for by_status in sim.stats()["requests"].values() if "426" in by_status]


def test_a_v2_task_or_case_fails_loudly_when_its_v2_stream_is_not_selected(make_sim, tap):
    """Never skipped without a word: the task and the case fail, naming the stream to select,
    on every run, also when the state says the task is read through v2."""
    sim = make_sim(**V1_AND_V2)
    v1_case, v2_case = sim.truth(101)[3], sim.truth_v2(102)[5]
    cases = [{"task_id": c["task_id"], "case_id": c["case_id"]} for c in (v1_case, v2_case)]
    config = login_config(sim.url, [101, 102, 103], case_ids=cases)
    v1_only = ["--catalog", str(tap.catalog_selecting(config, ["task_results", "case_results"]))]
    first = tap.run(config, args=v1_only)
    both = tap.run(config, first.final_state)
    assert both.exit_code == 0, both.stderr
    again = tap.run(config, both.final_state, args=v1_only)
    for run in (first, again):
        assert run.exit_code == 1, run.stderr
        summary = run.error_lines[-1]
        assert "task 102 (first page)" in summary and "task_results_v2 '*'" in summary, summary
        assert run.records_of("case_results") == as_emitted([v1_case], CASE_RESULT_SCHEMA)
        assert set(partition_bookmarks(run.final_state)) == {(101, None), (103, None)}
        assert f"task 102 (case_id={v2_case['case_id']})" in summary, summary
        assert "select it" in summary and "case_results_v2" in summary, summary
    assert sorted(first.keys) == sorted(sim.keys(101) | sim.keys(103))
    assert partition_bookmarks(first.final_state, "task_results_v2") == {}
    assert again.keys == []
