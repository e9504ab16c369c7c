"""Hostile inputs (issue 19): whatever an answer holds (size, endless pages, nesting, NaN, a BOM,
a Date past 9999), it fails one task (or the run, for the login or a list) with one line naming
what was read and what was wrong; no STATE skips data."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import (
    LOGIN,
    assert_one_clear_error,
    login_config,
    partition_bookmarks,
    premature_bookmarks,
)

TASKS = (101, 102, 103)
SIM = {"tasks": 3, "cases": (40, 30, 20), "page_size": 10}
FOREVER = 1_000_000
MIB = 1 << 20
GIB = 1 << 30


def _run(make_sim, tap, faults, task_ids=TASKS, sim=None, **settings):
    simulator = make_sim(**{**SIM, **(sim or {})})
    simulator.script_faults(faults)
    config = login_config(simulator.url, task_ids, page_size=10, max_retries=1, **settings)
    return simulator, tap.run(config, timeout=30)


def _on_102(kind: str, **fields: Any) -> list[dict[str, Any]]:
    return [{"kind": kind, "count": FOREVER, "task_id": 102, **fields}]


def assert_only_task_102_failed(sim, run, *fragments):
    """Exit 1, one line naming task 102 and `fragments`; 101 and 103 synced and bookmarked."""
    assert_one_clear_error(run, "1 task failed", "task 102", *fragments)
    assert run.exit_code == 1
    assert set(partition_bookmarks(run.final_state)) == {(101, None), (103, None)}
    synced = {101: sim.keys(101), 103: sim.keys(103)}
    assert {key for key in run.keys if key[0] != 102} == synced[101] | synced[103]
    assert premature_bookmarks(run, synced) == []


#: What a fault on task 102's first answer makes its line say: each answer is bounded in size
#: (item 3, "raise max_response_mb"); whatever a page holds, its task's failure says what is
#: wrong (item 6, "answered 200 but"). Neither is retried.
INFLATED = "max_response_mb=1 MiB once gzip is undone"
ANSWERS: dict[str, tuple[dict[str, Any], str]] = {
    "gzip_bomb": ({"kind": "gzip_bomb", "size": 64 * MIB}, INFLATED),
    # Large enough that kernel buffers (up to tcp_rmem's maximum) cannot hold a quarter.
    "flood": ({"kind": "flood", "size": 256 * MIB}, "max_response_mb=1"),
    # 1 GiB once inflated, about 1 MB on the wire, sent as it is compressed: the cap is
    # checked while inflating, not after reading the whole compressed body.
    "gzip_flood": ({"kind": "gzip_flood", "size": GIB}, INFLATED),
    # 0.9 MiB of `{},{},...`: under the cap in bytes, ~20 MiB once decoded into objects.
    "object_bomb": ({"kind": "object_bomb", "size": 900 * 1024}, INFLATED),
    "nested-5000": ({"kind": "deep_json", "size": 5000}, "more than 100 levels"),  # RecursionError
    "nested-150": ({"kind": "deep_json", "size": 150}, "more than 100 levels"),  # read, refused
    "NaN": ({"kind": "nan"}, "NaN or Infinity (at byte "),
    "1e400": ({"kind": "huge_number"}, "beyond the range of JSON numbers"),
}


@pytest.mark.parametrize("name", ANSWERS)
def test_an_answer_too_large_or_unfit_for_json_fails_its_task_only(make_sim, tap, figures, name):
    # The tap of 023f266 read a bomb whole, found an empty last page, and exited 0.
    fault, said = ANSWERS[name]
    sim, run = _run(make_sim, tap, _on_102(**fault), max_response_mb=1)

    advice = "raise max_response_mb" if said.startswith("max_response_mb") else "answered 200 but"
    assert_only_task_102_failed(sim, run, "(first page)", said, advice)
    assert "Retrying" not in run.stderr  # the same answer would come again
    streamed = sim.stats()["streamed_bytes"]
    if name == "flood":  # reading stopped at the cap, not at the end of the body
        assert MIB < streamed < fault["size"] // 4, streamed
        figures.update(flood_bytes_sent_before_the_tap_stopped=streamed)
    if name == "gzip_flood":  # ~1 KB on the wire per inflated MiB: the tap stopped early
        assert 0 < streamed < fault["size"] // 1000 // 4, streamed
        figures.update(gzip_flood_wire_bytes_sent_before_the_tap_stopped=streamed)


@pytest.mark.parametrize(
    ("kind", "said"),
    [("gzip_cut", "ended before the end of the compressed data"), ("br", "Content-Encoding")],
)
def test_a_body_that_cannot_be_decoded_is_retried_then_fails_its_task(make_sim, tap, kind, said):
    sim, run = _run(make_sim, tap, _on_102(kind))

    assert_only_task_102_failed(sim, run, "giving up after 2 attempts", said)


@pytest.mark.timeout(60)  # the tap of 023f266 paged for ever
@pytest.mark.parametrize(
    ("empty", "limit"), [(FOREVER, 30), (4, 5), (4, 4)], ids=["endless", "4-of-5", "4-of-4"]
)
def test_empty_pages_are_followed_up_to_max_empty_pages_in_a_row(make_sim, tap, empty, limit):
    # Empty pages first, their cursors (1..4) before the task's first case (sequence id 1000).
    faults = _on_102("empty_page", count=empty)
    sim, run = _run(make_sim, tap, faults, sim={"first_sequence_id": 1000}, max_empty_pages=limit)

    if empty < limit:
        assert run.exit_code == 0, run.stderr[-2000:]
        assert sorted(run.keys) == sorted(sim.keys())
        assert set(partition_bookmarks(run.final_state)) == {(task, None) for task in TASKS}
    else:
        assert_only_task_102_failed(sim, run, f"{limit} pages in a row", f"max_empty_pages={limit}")
        assert sim.stats()["faults"]["empty_page"] == limit


#: (path, fault, why): the login and the lists stop the run, naming them.
LIST_AND_LOGIN_CASES = [
    (LOGIN, "gzip_bomb", "max_response_mb=1"),
    ("/tasks/", "gzip_bomb", "max_response_mb=1"),
    ("/tasks/", "empty_page", "20 pages in a row"),
    ("/projects/", "empty_page", "max_empty_pages=20"),
    ("/tasks/", "nan", "NaN or Infinity"),
    ("/projects/", "deep_json", "100 levels deep"),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("path", "kind", "said"), LIST_AND_LOGIN_CASES)
def test_a_hostile_login_or_list_stops_the_run_naming_it(make_sim, tap, path, kind, said):
    size = {"size": 16 * MIB} if kind == "gzip_bomb" else {}
    faults = [{"kind": kind, "path": path, "count": FOREVER, **size}]
    _sim, run = _run(make_sim, tap, faults, (), max_response_mb=1, max_empty_pages=20)

    assert_one_clear_error(
        run, f"POST {LOGIN}" if path == LOGIN else f"GET {path}public/v1/list", said
    )
    assert run.exit_code == 1 and "Unexpected error" not in run.stderr
    assert not partition_bookmarks(run.final_state)


def test_a_byte_order_mark_is_skipped_and_a_date_past_9999_is_no_usable_date(make_sim, tap):
    # Task 103's answers start with a BOM; task 102's carry that Date; task 101's first answer
    # is a 429 whose Retry-After is that date: the retry waits as backoff_factor says.
    faults = [*_on_102("date_9999"), {**_on_102("bom")[0], "task_id": 103}]
    faults.append({"kind": "429", "task_id": 101})
    sim, run = _run(make_sim, tap, faults, sim={"retry_after_style": "year-9999"})

    assert run.exit_code == 0, run.stderr[-2000:]
    assert sorted(run.keys) == sorted(sim.keys())
    assert "task 102: the API sent no usable Date header" in run.stderr
    assert set(partition_bookmarks(run.final_state)) == {(101, None), (103, None)}
    assert run.stderr.count("Retrying (1 of 1)") == 1
