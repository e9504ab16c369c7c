"""Scenario 10, broken state files: a clear error before any request, or a careful reading.

Each broken file (INFO and DEBUG): exit 2, one ERROR line naming the file and the entry, no
request, no output. Readable shapes are normalised and merged, keeping the earliest bookmark.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.harness import login_config, partition_bookmarks
from tests.reliability import assert_refused

TASKS = (101, 102, 103)
SIM = {"tasks": 3, "cases": (60, 40, 20), "page_size": 20}
GOOD = {
    "context": {"task_id": 101},
    "replication_key": "updated_after",
    "replication_key_value": "2024-05-01T00:00:00+00:00",
}


def _partitions(*bad: object, stream: str = "task_results") -> str:
    return json.dumps({"bookmarks": {stream: {"partitions": [GOOD, *bad]}}})


def _bad_partition(**fields: object) -> str:
    """A partition of task 102 (GOOD is task 101's) with `fields` changed."""
    return _partitions({**GOOD, "context": {"task_id": 102}, **fields})


ENTRY = "'bookmarks.task_results.partitions[1]"
BROKEN: list[tuple[str, str, tuple[str, ...]]] = [
    # (id, the file's text, what the error line must say besides the file's name)
    ("empty", "", ("the file is empty",)),
    ("whitespace", " \n\t \n", ("the file is empty",)),
    ("malformed-json", '{"bookmarks": {"task_results": ', ("not valid JSON",)),
    ("a-json-list", "[]", ("a JSON list, not an object",)),
    ("a-json-string", '"bookmarks"', ("a JSON string, not an object",)),
    ("bookmarks-a-list", '{"bookmarks": []}', ("'bookmarks' is a JSON list",)),
    (
        "partitions-not-a-list",
        '{"bookmarks": {"task_results": {"partitions": {"task_id": 101}}}}',
        ("'bookmarks.task_results.partitions' is a JSON object",),
    ),
    ("partition-a-string", _partitions("task 101"), (ENTRY, "JSON string")),
    ("no-context", _partitions({"replication_key_value": "2024-05-01"}), (ENTRY, ".context'")),
    ("context-null", _bad_partition(context=None), (ENTRY, ".context'", "null")),
    ("context-a-list", _bad_partition(context=[101]), (ENTRY, ".context'", "list")),
    ("task_id-abc", _bad_partition(context={"task_id": "abc"}), (ENTRY, "task_id 'abc'")),
    ("task_id-zero", _bad_partition(context={"task_id": 0}), (ENTRY, "task_id 0")),
    ("task_id-superscript", _bad_partition(context={"task_id": "²"}), (ENTRY, "task_id '²'")),
    ("task_id-true", _bad_partition(context={"task_id": True}), (ENTRY, "task_id True")),
    ("task_id-missing", _bad_partition(context={}), (ENTRY, "task_id None")),
    (
        "unknown-context-key",
        _bad_partition(context={"task_id": 102, "project": 7}),
        (ENTRY, "unknown keys ['project']"),
    ),
    (
        "bookmark-last-tuesday",
        _bad_partition(replication_key_value="last tuesday"),
        (ENTRY, "'last tuesday'", "not an ISO 8601 time"),
    ),
    (
        "bookmark-past-year-9999-in-utc",
        _bad_partition(replication_key_value="9999-12-31T23:59:59-01:00"),
        (ENTRY, "'9999-12-31T23:59:59-01:00'", "not an ISO 8601 time"),
    ),
    (
        "bookmark-numeric",
        _bad_partition(replication_key_value=1714521600),
        (ENTRY, "1714521600", "not a time"),
    ),
    (
        "unknown-labeling_state",
        _bad_partition(context={"task_id": 102, "labeling_state": "Done"}),
        (ENTRY, "labeling_state 'Done'"),
    ),
    (
        "v2-partition-task_id-abc",
        _partitions({"context": {"task_id": "x1"}}, stream="task_results_v2"),
        ("'bookmarks.task_results_v2.partitions[1]", "task_id 'x1'"),
    ),
]


@pytest.mark.parametrize(
    ("text", "fragments"), [pytest.param(text, frags, id=name) for name, text, frags in BROKEN]
)
def test_a_broken_state_file_is_one_clear_error_before_any_request(
    make_sim, tap, tmp_path, text, fragments
):
    sim = make_sim(**SIM)
    path = tmp_path / "state.json"
    path.write_text(text)
    runs = tap.run_at_levels(login_config(sim.url, TASKS), args=("--state", str(path)))

    assert sim.stats()["total_requests"] == 0, "a request was sent despite the broken state"
    assert_refused(runs, f"Invalid state file '{path}'", *fragments)


def _iso(moment: datetime, form: str) -> str:
    """One instant in another ISO 8601 form."""
    if form == "Z":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if form == "+02:00":
        return moment.astimezone(timezone(timedelta(hours=2))).isoformat()
    if form == "space, fraction":
        return moment.strftime("%Y-%m-%d %H:%M:%S.000000+00:00")
    return moment.strftime("%Y-%m-%dT%H:%M:%S")  # naive: UTC


def test_readable_shapes_are_normalised_merged_and_read_incrementally(
    make_sim, tap, tmp_path, figures
):
    sim = make_sim(**SIM)
    first = tap.run(login_config(sim.url, TASKS, page_size=20))
    assert first.exit_code == 0, first.stderr[-3000:]
    marks = {
        task: datetime.fromisoformat(m)
        for (task, _), m in partition_bookmarks(first.final_state).items()
    }
    earlier = {task: mark - timedelta(seconds=120) for task, mark in marks.items()}
    # Changes after each bookmark; and for 101 and 103 between the earlier bookmark of a
    # duplicate entry and the real one (re-read only if the earliest bookmark is kept).
    changed: set[tuple[int, int]] = set()
    for task in TASKS:
        changed |= {(task, c) for c in sim.update_cases(task, count=2, rng_seed=task)}
    for task in (101, 103):
        at = earlier[task].timestamp() + 30
        changed |= {(task, c) for c in sim.update_cases(task, count=2, rng_seed=9, at=at)}
    given = [
        ("101", marks[101], "Z"),
        (101, earlier[101], ""),
        (" 102 ", marks[102], "+02:00"),
        (103, earlier[103], "space, fraction"),
        ("103", marks[103], "Z"),
    ]
    given_partitions = [
        {"context": {"task_id": task}, "replication_key_value": _iso(mark, form)}
        for task, mark, form in given
    ]
    state = {"bookmarks": {"task_results": {"partitions": given_partitions}}}
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state))

    run = tap.run(login_config(sim.url, TASKS, page_size=20), args=("--state", str(path)))
    assert run.exit_code == 0, run.stderr[-3000:]
    emitted = set(run.keys)
    assert emitted >= changed, f"missed {sorted(changed - emitted)[:5]}"
    assert emitted <= changed, f"unchanged cases re-read: {sorted(emitted - changed)[:5]}"
    partitions: list[dict[str, Any]] = run.final_state["bookmarks"]["task_results"]["partitions"]
    assert sorted(p["context"]["task_id"] for p in partitions) == list(TASKS)
    for partition in partitions:
        mark = partition["replication_key_value"]
        assert mark.endswith("+00:00") and "." not in mark, mark
    figures.update(cases=len(sim.keys()), records_read=len(run.keys), changed=len(changed))
