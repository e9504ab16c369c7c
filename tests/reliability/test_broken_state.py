"""Scenario 10, broken state files (and --config, --catalog files): exit 2 before any request,
one ERROR line naming the file and the entry (INFO and DEBUG); readable state shapes are
normalised, keeping the earliest bookmark."""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.harness import login_config, partition_bookmarks
from tests.reliability import SIM, TASKS, assert_refused

ENTRY = "'bookmarks.task_results.partitions[1]"
GOOD = {
    "context": {"task_id": 101},
    "replication_key": "updated_after",
    "replication_key_value": "2024-05-01T00:00:00+00:00",
}


def _partitions(*more: object, stream: str = "task_results", good: bool = True) -> str:
    return json.dumps({"bookmarks": {stream: {"partitions": [GOOD] * good + [*more]}}})


def _bad(*said: str, **fields: object) -> tuple[str, ...]:
    """A partition of task 102 (GOOD is task 101's) with `fields` changed; what is said of it."""
    return _partitions({**GOOD, "context": {"task_id": 102}, **fields}), ENTRY, *said


#: {id: (the file's text, what the error line must say besides the file's name)}
BROKEN: dict[str, tuple[Any, ...]] = {
    "empty": ("", "the file is empty"),
    "whitespace": (" \n\t \n", "the file is empty"),
    "malformed-json": ('{"bookmarks": {"task_results": ', "not valid JSON"),
    "utf-16": ("{}".encode("utf-16"), "not valid JSON ('utf-8' codec"),
    "nested-too-deep": ("[" * 100_000 + "]" * 100_000, "not valid JSON (maximum recursion"),
    "a-json-list": ("[]", "a JSON list, not an object"),
    "a-json-string": ('"bookmarks"', "a JSON string, not an object"),
    "bookmarks-a-list": ('{"bookmarks": []}', "'bookmarks' is a JSON list"),
    "partitions-not-a-list": (
        '{"bookmarks": {"task_results": {"partitions": {"task_id": 101}}}}',
        "'bookmarks.task_results.partitions' is a JSON object",
    ),
    "partition-a-string": (_partitions("task 101"), ENTRY, "JSON string"),
    "no-context": (_partitions({"replication_key_value": "2024-05-01"}), ENTRY, ".context'"),
    "context-null": _bad(".context'", "null", context=None),
    "context-a-list": _bad(".context'", "list", context=[101]),
    "task_id-abc": _bad("task_id 'abc'", context={"task_id": "abc"}),
    "task_id-zero": _bad("task_id 0", context={"task_id": 0}),
    "task_id-superscript": _bad("task_id '²'", context={"task_id": "²"}),
    "task_id-true": _bad("task_id True", context={"task_id": True}),
    "task_id-missing": _bad("task_id None", context={}),
    "unknown-context-key": _bad("unknown keys ['project']", context={"task_id": 102, "project": 7}),
    "bookmark-last-tuesday": _bad(
        "'last tuesday'", "not an ISO 8601 time", replication_key_value="last tuesday"
    ),
    "bookmark-past-year-9999-in-utc": _bad(
        "'9999-12-31T23:59:59-01:00'",
        "not an ISO 8601 time",
        replication_key_value="9999-12-31T23:59:59-01:00",
    ),
    "bookmark-numeric": _bad("1714521600", "not a time", replication_key_value=1714521600),
    "unknown-labeling_state": _bad(
        "labeling_state 'Done'", context={"task_id": 102, "labeling_state": "Done"}
    ),
    "v2-partition-task_id-abc": (
        _partitions({"context": {"task_id": "x1"}}, stream="task_results_v2"),
        "'bookmarks.task_results_v2.partitions[1]",
        "task_id 'x1'",
    ),
    # A --config or --catalog file (None: missing) that the SDK would not read.
    "config-missing": (None, "cannot be read (No such file or directory)"),
    "config-empty": ("", "is not valid JSON"),
    "config-a-list": ("[1]", "is not a JSON object"),
    "config-utf-16": ('{"page_size": 5}'.encode("utf-16"), "is not valid JSON ('utf-8' codec"),
    "config-too-deep": ("[" * 100_000 + "]" * 100_000, "is not valid JSON (maximum recursion"),
    "catalog-a-list": ("[]", "is not a JSON object"),
    "catalog-utf-16": ('{"streams": []}'.encode("utf-16"), "is not valid JSON ('utf-8' codec"),
    "catalog-streams-a-number": ('{"streams": 5}', "is not a Singer catalog"),
    "catalog-without-stream-id": ('{"streams": [{}]}', "(KeyError: 'tap_stream_id')"),
}


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_input_file_is_one_clear_error_before_any_request(make_sim, tap, tmp_path, name):
    text, *fragments = BROKEN[name]
    option = name.split("-")[0] if name.startswith(("config-", "catalog-")) else "state"
    sim = make_sim(**SIM)
    path = tmp_path / f"{option}.json"
    if text is not None:
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    runs = tap.run_at_levels(login_config(sim.url, TASKS), args=(f"--{option}", str(path)))

    assert sim.stats()["total_requests"] == 0, "a request was sent despite the broken file"
    assert_refused(runs, f"Invalid {option} file '{path}'", *fragments)


@pytest.mark.timeout(30)  # a second read of the pipe would wait for a writer for ever
def test_a_config_from_a_pipe_and_files_with_a_bom_are_read_as_the_sdk_reads_them(
    make_sim, tap, tmp_path
):
    sim = make_sim(**SIM, record_requests=True)
    config, pipe = login_config(sim.url, TASKS), tmp_path / "config.pipe"
    catalog = tap.catalog_selecting(config, ["task_results"])
    catalog.write_text("\ufeff" + catalog.read_text())  # as PowerShell 5 writes UTF-8
    (state := tmp_path / "state.json").write_text("\ufeff{}")
    os.mkfifo(pipe)
    threading.Thread(target=pipe.write_text, args=('{"page_size": 7}',), daemon=True).start()
    run = tap.run(
        config, args=("--config", str(pipe), "--catalog", str(catalog), "--state", str(state))
    )

    assert run.exit_code == 0, run.stderr[-2000:]
    assert sorted(run.keys) == sorted(sim.keys())
    assert any("limit=7" in r["query"] for r in sim.requests())  # the piped setting


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
    given = {  # one instant in several ISO 8601 forms
        "101": marks[101].strftime("%Y-%m-%dT%H:%M:%SZ"),
        101: earlier[101].strftime("%Y-%m-%dT%H:%M:%S"),  # naive: UTC
        " 102 ": marks[102].astimezone(timezone(timedelta(hours=2))).isoformat(),
        103: earlier[103].strftime("%Y-%m-%d %H:%M:%S.000000+00:00"),
        "103": marks[103].strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    path = tmp_path / "state.json"
    path.write_text(
        _partitions(
            *({"context": {"task_id": t}, "replication_key_value": v} for t, v in given.items()),
            good=False,
        )
    )

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
