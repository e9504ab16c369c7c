"""A sync over real HTTP: every case once as typed JSON, the STATE it writes, incremental runs."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from tap_centaur.schemas import CASE_RESULT_SCHEMA
from tests.harness import LIST, as_emitted, login_config, partition_bookmarks

BOOKMARK_FORMAT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")


def test_full_sync_returns_every_case_once_as_typed_json_and_bookmarks_each_task(make_sim, tap):
    """Undocumented fields kept, each label shape in a field of its own (class names in
    correct_label, WKT in correct_label_wkt), listed cases in case_results, the projects."""
    sim = make_sim(tasks=3, cases=(250, 120, 40), extra_fields=True)  # 103: a box task
    wanted = [next(c for c in sim.truth(t) if c["correct_label"]) for t in (101, 103)]
    case_ids = [{"task_id": c["task_id"], "case_id": c["case_id"]} for c in wanted]
    before = datetime.now(timezone.utc).replace(microsecond=0)
    run = tap.run(login_config(sim.url, [101, 102, 103], case_ids=case_ids))
    after = datetime.now(timezone.utc)
    assert run.exit_code == 0, run.stderr
    assert sorted(run.keys) == sorted(sim.keys())  # each once
    assert run.records_of("case_results") == as_emitted(wanted, CASE_RESULT_SCHEMA)
    assert sim.stats()["logins"] == 1
    projects = sorted({t["project_id"] for t in sim.tasks_truth()})
    assert sorted(p["project_id"] for p in run.records_of("projects")) == projects
    schema = next(m for m in run.messages if m.get("stream") == "task_results")  # types: catalog
    assert schema["key_properties"] == ["task_id", "case_id"]
    assert "undocumented_fields" in schema["schema"]["properties"]
    truth = sim.truth_by_key()
    for record in run.records:
        assert record == truth[(record["task_id"], record["case_id"])]
        assert type(record["case_id"]) is int  # == would take 1.0 for 1
    assert any("undocumented_fields" in record for record in run.records)
    bookmarks = partition_bookmarks(run.final_state)
    assert set(bookmarks) == {(101, None), (102, None), (103, None)}
    for value in bookmarks.values():
        assert BOOKMARK_FORMAT.match(value), value
        moment = datetime.fromisoformat(value)
        # The earlier clock at the first answer, less lookback_seconds (300 by default).
        assert before.timestamp() - 5 - 300 <= moment.timestamp() <= after.timestamp() - 300


def positions(run, kind, task=None):
    """Indexes of the STATE messages, or of the task_results RECORDs (of one task)."""
    return [
        i
        for i, m in enumerate(run.messages)
        if m["type"] == kind
        and m.get("stream", "task_results") == "task_results"  # a STATE has no stream
        and task in (None, m.get("record", {}).get("task_id"))
    ]


@pytest.mark.parametrize("parallel", [1, 4])
def test_state_is_emitted_as_soon_as_each_partition_completes(sim, tap, parallel):
    """With state_interval_seconds 0, the message after a task's last record bookmarks it."""
    config = login_config(sim.url, [101, 102], max_parallel_tasks=parallel)
    run = tap.run({**config, "state_interval_seconds": 0})
    assert run.exit_code == 0, run.stderr
    kept = [m for m in run.messages if m["type"] == "STATE" or m.get("stream") == "task_results"]
    for task in (101, 102):
        last = max(i for i, m in enumerate(kept) if m.get("record", {}).get("task_id") == task)
        assert kept[last + 1]["type"] == "STATE"
        assert (task, None) in partition_bookmarks(kept[last + 1]["value"])


@pytest.mark.parametrize(
    ("sim_settings", "settings"),
    [
        pytest.param({"tasks": 40, "cases": 2}, {}, id="forty-tasks-by-default"),
        pytest.param(
            {"tasks": 1, "cases": 10_050},
            {"page_size": 1000, "state_interval_seconds": 3600},
            id="over-ten-thousand-records",
        ),
    ],
)
def test_no_state_while_reading_within_the_interval(make_sim, tap, sim_settings, settings):
    """Done within the interval: one STATE with every bookmark, after the last record (the
    SDK's STATEs after the other streams repeat it); not the SDK's STATE every 10,000 records,
    each repeating every partition's bookmark."""
    sim = make_sim(**sim_settings)
    run = tap.run(login_config(sim.url, sim.task_ids(), **settings))
    assert run.exit_code == 0, run.stderr
    results, states = positions(run, "RECORD"), positions(run, "STATE")
    assert len(results) == len(sim.keys())
    assert not [i for i in states if results[0] < i < results[-1]]
    last_record = max(i for i, m in enumerate(run.messages) if m["type"] == "RECORD")
    assert any(i > last_record for i in states)
    bookmarked = [b for state in run.states if (b := partition_bookmarks(state))]
    assert len(bookmarked[0]) == len(sim.task_ids())
    assert all(b == bookmarked[0] for b in bookmarked)


def test_a_finished_task_is_saved_within_the_interval_while_a_long_task_runs(make_sim, tap):
    """A finished task's bookmark waits about `state_interval_seconds` (0.3 s), not for the
    task before it: task 101 has 40 pages of 20 ms each, read beside task 102's one page."""
    sim = make_sim(tasks=2, cases=(400, 5), page_size=10, latency_ms=20)
    config = login_config(sim.url, [101, 102], page_size=10, state_interval_seconds=0.3)
    run = tap.run(config)
    assert run.exit_code == 0, run.stderr
    states = positions(run, "STATE")
    saved = next(i for i in states if (102, None) in partition_bookmarks(run.messages[i]["value"]))
    later = [i for i in positions(run, "RECORD", task=101) if i > saved]
    assert len(later) >= 10, f"task 102 was saved only {len(later)} records before the end"
    assert (101, None) not in partition_bookmarks(run.messages[saved]["value"])


def test_each_labeling_state_is_a_partition_of_its_own_in_v1_and_v2(make_sim, tap):
    """A record without labeling_state gets its partition's filter (as the SDK does for
    partition keys), none without a filter; a filter does not reuse another's bookmark."""
    sim = make_sim(tasks=2, cases=(250, 120), unsupported_task_ids=(102,))
    sim.set_misbehaviour(101, "missing_labeling_state")
    labeled = tap.run(login_config(sim.url, [101, 102], labeling_state="Labeled"))
    states = ["Gold Standard", "Flagged"]
    config = login_config(sim.url, [101, 102], labeling_state=states)
    run = tap.run(config, labeled.final_state)
    for done, wanted, kept in ((labeled, ["Labeled"], []), (run, states, ["Labeled"])):
        assert done.exit_code == 0, done.stderr
        for task, stream, cases in ((101, "", sim.truth(101)), (102, "_v2", sim.truth_v2(102))):
            expected = sorted(
                (c["case_id"], s) for c in cases if (s := c["labeling_state"]) in wanted
            )
            records = done.records_of(f"task_results{stream}")
            assert expected
            assert sorted((r["case_id"], r["labeling_state"]) for r in records) == expected
            bookmarks = partition_bookmarks(done.final_state, f"task_results{stream}")
            assert set(bookmarks) == {(task, s) for s in [*kept, *wanted]}
    unfiltered = tap.run(login_config(sim.url, [101]))
    assert sum(r.get("labeling_state") is None for r in unfiltered.records) == 1


def test_start_date_limits_the_first_sync_and_a_bookmark_wins_over_it(sim, tap):
    """And page_size is sent as the limit."""
    # The simulator's cases were updated in 2024; a start_date later than now is refused.
    assert max(case["updated_at_iso"] for case in sim.truth_meta(101)) < "2025"
    later = tap.run(login_config(sim.url, [101], start_date="2025-01-01"))
    assert later.exit_code == 0, later.stderr
    assert later.keys == []
    config = login_config(sim.url, [101], start_date="2000-01-01T00:00:00Z", page_size=7)
    sim.reset_stats()
    past = tap.run(config)
    assert len(past.keys) == 250
    assert sum(sim.stats()["requests"][LIST].values()) == 36  # ceil(250 / 7)
    assert tap.run(config, past.final_state).keys == []


def test_a_run_from_the_state_of_release_0_1_0_reads_only_what_changed(sim, tap):
    """The same layout, no labeling_state (resuming from any STATE: reliability/test_kill_resume,
    repeated runs on changing data: reliability/test_moving_data)."""
    config = login_config(sim.url, [101, 102, 103])
    first = tap.run(config)
    bookmarks = partition_bookmarks(first.final_state).items()
    key = {"replication_key": "updated_after"}
    partitions = [
        {"context": {"task_id": t}, **key, "replication_key_value": v} for (t, _), v in bookmarks
    ]
    state_of_0_1_0 = {"bookmarks": {"task_results": {"partitions": partitions}, "projects": {}}}
    updated = sim.update_cases(101, count=5, rng_seed=1)
    added = sim.add_cases(102, 3)
    second = tap.run(config, state_of_0_1_0)
    assert second.exit_code == 0, second.stderr
    assert sorted(second.keys) == sorted([(101, c) for c in updated] + [(102, c) for c in added])
    truth = sim.truth_by_key()
    for record in second.records:
        assert record == truth[(record["task_id"], record["case_id"])]


def test_a_label_of_an_undocumented_shape_is_kept_in_undocumented_fields(sim, tap):
    sim.set_misbehaviour(101, "odd_labels")
    run = tap.run(login_config(sim.url, [101], page_size=10))
    assert run.exit_code == 0, run.stderr
    sent = {"correct_label": {"class": "Nodule", "score": 0.9}, "majority_label": 3}
    first = run.records[0]
    assert first["undocumented_fields"] == sent
    labels = ("correct_label", "majority_label", "correct_label_wkt", "majority_label_wkt")
    assert [first[name] for name in labels] == [None] * 4
