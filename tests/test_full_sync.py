"""A full sync over real HTTP returns exactly the simulator's cases, each once, as typed JSON."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timezone

import pytest

from tap_centaur.schemas import CASE_RESULT_SCHEMA
from tests.harness import THREE_TASKS, as_emitted, login_config, partition_bookmarks

BOOKMARK_FORMAT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")


def truth_keys(sim, task_ids):
    return sorted((c["task_id"], c["case_id"]) for t in task_ids for c in sim.truth(t))


def test_full_sync_returns_every_case_once_as_typed_json_and_bookmarks_each_task(sim, tap):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    run = tap.run(login_config(sim.url, [101, 102, 103]))
    after = datetime.now(timezone.utc)
    assert run.exit_code == 0, run.stderr
    counts = Counter(run.keys)
    assert max(counts.values()) == 1
    assert sorted(counts) == truth_keys(sim, [101, 102, 103])
    assert len(run.keys) == 370
    assert run.records_of("case_results") == []  # no case_ids
    truth = sim.truth_by_key()
    schema = next(m for m in run.messages if m.get("stream") == "task_results")
    assert schema["type"] == "SCHEMA" and schema["key_properties"] == ["task_id", "case_id"]
    for name in ("content_metadata", "read_stats", "counts"):
        assert "string" not in schema["schema"]["properties"][name]["type"]
    for record in run.records:
        assert record == truth[(record["task_id"], record["case_id"])]
        assert type(record["case_id"]) is int  # == would take 1.0 for 1
        assert isinstance(record["content_metadata"], list)
        assert isinstance(record["read_stats"], dict) and isinstance(record["counts"], dict)
    final = run.final_state
    assert "progress_markers" not in str(final)
    bookmarks = partition_bookmarks(final)
    assert set(bookmarks) == {(101, None), (102, None), (103, None)}
    for value in bookmarks.values():
        assert BOOKMARK_FORMAT.match(value), value
        moment = datetime.fromisoformat(value)
        # The earlier clock at the first answer, less lookback_seconds (300 by default).
        assert before.timestamp() - 5 - 300 <= moment.timestamp() <= after.timestamp() - 300


@pytest.mark.parametrize("parallel", [1, 4])
def test_state_is_emitted_as_soon_as_each_partition_completes(sim, tap, parallel):
    """With state_interval_seconds 0, the message right after a task's last record is a STATE
    that bookmarks it."""
    config = login_config(sim.url, [101, 102], max_parallel_tasks=parallel)
    run = tap.run({**config, "state_interval_seconds": 0})
    assert run.exit_code == 0, run.stderr
    messages = [
        m for m in run.messages if m["type"] == "STATE" or m.get("stream") == "task_results"
    ]
    for task in (101, 102):
        last = max(
            i
            for i, m in enumerate(messages)
            if m["type"] == "RECORD" and m["record"]["task_id"] == task
        )
        assert messages[last + 1]["type"] == "STATE"
        assert (task, None) in partition_bookmarks(messages[last + 1]["value"])


def test_by_default_state_is_written_at_most_once_per_interval(make_sim, tap):
    """Forty tasks done within a second: one STATE at the start, one after the last record
    (5 s apart at most), not one per task."""
    sim = make_sim(tasks=40, cases=2)
    run = tap.run(login_config(sim.url, list(range(101, 141))))
    assert run.exit_code == 0, run.stderr
    states = [i for i, m in enumerate(run.messages) if m["type"] == "STATE"]
    last_record = max(i for i, m in enumerate(run.messages) if m["type"] == "RECORD")
    bookmarked = [
        partition_bookmarks(m["value"])
        for m in run.messages
        if m["type"] == "STATE" and partition_bookmarks(m["value"])
    ]
    # Done within 5 s: the first STATE with a bookmark has them all (the SDK's STATEs after
    # the other streams repeat it).
    assert len(bookmarked[0]) == 40
    assert all(b == bookmarked[0] for b in bookmarked)
    results = [i for i, m in enumerate(run.messages) if m.get("stream") == "task_results"]
    assert not [i for i in states if results[1] < i < results[-1]]  # none while reading
    assert any(i > last_record for i in states)


def test_no_state_while_reading_more_than_ten_thousand_records(make_sim, tap):
    """Not the SDK's STATE every 10,000 records of a stream: each would repeat every
    partition's bookmark, in proportion to records times tasks."""
    sim = make_sim(tasks=2, cases=(6_000, 6_000))
    config = login_config(sim.url, [101, 102], page_size=1000, state_interval_seconds=3600)
    run = tap.run(config)
    assert run.exit_code == 0, run.stderr
    results = [
        i
        for i, m in enumerate(run.messages)
        if m["type"] == "RECORD" and m["stream"] == "task_results"
    ]
    states = [i for i, m in enumerate(run.messages) if m["type"] == "STATE"]
    assert len(results) == 12_000
    assert [i for i in states if results[0] < i < results[-1]] == []
    assert any(i > results[-1] for i in states)


def test_a_finished_task_is_saved_within_the_interval_while_a_long_task_runs(make_sim, tap):
    """The bound a killed run relies on: a finished task's bookmark waits at most about
    `state_interval_seconds` for a STATE, not for the next task to finish.

    Task 101 has one page; task 102 has 40 pages of 20 ms each (at least 0.8 s, whatever the
    machine's speed), read at the same time, with an interval of 0.3 s.
    """
    sim = make_sim(tasks=2, cases=(5, 400), page_size=10, latency_ms=20)
    config = login_config(sim.url, [101, 102], page_size=10, state_interval_seconds=0.3)
    run = tap.run(config)
    assert run.exit_code == 0, run.stderr
    saved = next(
        i
        for i, m in enumerate(run.messages)
        if m["type"] == "STATE" and (101, None) in partition_bookmarks(m["value"])
    )
    later = [
        m
        for m in run.messages[saved:]
        if m["type"] == "RECORD" and m["stream"] == "task_results" and m["record"]["task_id"] == 102
    ]
    assert len(later) >= 10, f"task 101 was saved only {len(later)} records before the end"
    assert (102, None) not in partition_bookmarks(run.messages[saved]["value"])


def test_undocumented_fields_are_kept_not_dropped(make_sim, tap):
    sim = make_sim(**THREE_TASKS, extra_fields=True)
    run = tap.run(login_config(sim.url, [101]))
    assert run.exit_code == 0, run.stderr
    truth = {c["case_id"]: c for c in sim.truth(101)}
    extras_seen = 0
    for record in run.records_of("task_results"):
        original = truth[record["case_id"]]
        undocumented = {k: v for k, v in original.items() if k not in record}
        assert record.get("undocumented_fields") in (None, undocumented or None)
        extras_seen += bool(record.get("undocumented_fields"))
    assert extras_seen > 0
    schema = next(m for m in run.messages if m["type"] == "SCHEMA")
    assert "undocumented_fields" in schema["schema"]["properties"]


def test_case_results_fetches_listed_cases(sim, tap):
    wanted = [sim.truth(101)[3], sim.truth(102)[7]]
    config = login_config(
        sim.url,
        [103],
        case_ids=[{"task_id": c["task_id"], "case_id": c["case_id"]} for c in wanted],
    )
    run = tap.run(config)
    assert run.exit_code == 0, run.stderr
    assert run.records_of("case_results") == as_emitted(wanted, CASE_RESULT_SCHEMA)


@pytest.mark.parametrize("setting", ["Labeled", ["Gold Standard", "Flagged"]])
def test_each_labeling_state_is_a_partition(sim, tap, setting):
    states = [setting] if isinstance(setting, str) else setting
    run = tap.run(login_config(sim.url, [101, 102], labeling_state=setting))
    assert run.exit_code == 0, run.stderr
    expected = sorted(
        (c["task_id"], c["case_id"]) for c in sim.truth() if c["labeling_state"] in states
    )
    assert expected and sorted(run.keys) == expected
    assert set(partition_bookmarks(run.final_state)) == {(t, s) for t in (101, 102) for s in states}


@pytest.mark.parametrize("labeling_state", [None, ["Labeled", "Flagged"]])
def test_a_record_without_labeling_state_gets_its_partitions_filter(sim, tap, labeling_state):
    """As the SDK does for partition keys: the filter that returned a case is its state; with no
    filter, nothing is made up."""
    sim.set_misbehaviour(101, "missing_labeling_state")
    extra = {"labeling_state": labeling_state} if labeling_state else {}
    run = tap.run(login_config(sim.url, [101], **extra))
    assert run.exit_code == 0, run.stderr
    truth = {c["case_id"]: c["labeling_state"] for c in sim.truth(101)}
    records = run.records_of("task_results")
    if labeling_state:
        assert all(r["labeling_state"] == truth[r["case_id"]] for r in records)
    else:
        assert sum(r.get("labeling_state") is None for r in records) == 1


def test_page_size_is_sent_as_limit(sim, tap):
    sim.reset_stats()
    run = tap.run(login_config(sim.url, [101], page_size=7))
    assert run.exit_code == 0, run.stderr
    assert len(run.keys) == 250
    assert sum(sim.stats()["requests"]["/results/public/v1/list"].values()) == 36  # ceil(250/7)


def test_start_date_limits_the_first_sync(sim, tap):
    # The simulator's cases were updated in 2024; a start_date later than now is refused.
    assert max(case["updated_at_iso"] for case in sim.truth_meta(101)) < "2025"
    later = tap.run(login_config(sim.url, [101], start_date="2025-01-01"))
    assert later.exit_code == 0, later.stderr
    assert later.keys == []
    past = tap.run(login_config(sim.url, [101], start_date="2000-01-01T00:00:00Z"))
    assert len(past.keys) == 250


def test_each_label_shape_has_a_field_of_its_own_in_both_streams(make_sim, tap):
    """Class names (choice task) in correct_label/majority_label, WKT (box task) in
    correct_label_wkt/majority_label_wkt, the other field null: one JSON type per field."""
    sim = make_sim(tasks=3, cases=20)  # 101 and 102 choice, 103 box
    truth = {(c["task_id"], c["case_id"]): c for c in sim.truth()}
    picked = [key for key in truth if key[0] in (102, 103)][::7]
    config = login_config(
        sim.url, [101, 103], case_ids=[{"task_id": t, "case_id": c} for t, c in picked]
    )
    run = tap.run(config)
    assert run.exit_code == 0, run.stderr[-2000:]
    seen = set()
    for stream in ("task_results", "case_results"):
        for record in run.records_of(stream):
            sent = truth[(record["task_id"], record["case_id"])]
            for label in ("correct_label", "majority_label"):
                kept, other = (label, f"{label}_wkt")[:: 1 if sent["task_type"] == "choice" else -1]
                assert (record[kept], record[other]) == (sent[label], None)
                if sent[label] is not None:
                    shape = list if kept == label else str
                    assert isinstance(record[kept], shape)
                    seen.add((stream, kept))
            assert "undocumented_fields" not in record
    assert len(seen) == 8, seen  # both streams, both labels, both shapes


def test_a_label_of_an_undocumented_shape_is_kept_in_undocumented_fields(sim, tap):
    sim.set_misbehaviour(101, "odd_labels")
    run = tap.run(login_config(sim.url, [101], page_size=10))
    assert run.exit_code == 0, run.stderr
    first = run.records_of("task_results")[0]
    assert first["undocumented_fields"] == {
        "correct_label": {"class": "Nodule", "score": 0.9},
        "majority_label": 3,
    }
    labels = ("correct_label", "majority_label", "correct_label_wkt", "majority_label_wkt")
    assert [first[name] for name in labels] == [None] * 4
