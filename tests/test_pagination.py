"""Pagination edges: every documented and undocumented shape of `has_next`/`last_sequence_id`."""

from __future__ import annotations

import pytest

from tests.harness import THREE_TASKS, login_config, partition_bookmarks


def all_keys(sim, task_id):
    return sorted((task_id, c["case_id"]) for c in sim.truth(task_id))


@pytest.mark.parametrize("last_page_style", ["absent", "false"])
def test_last_page_with_or_without_has_next(make_sim, tap, last_page_style):
    sim = make_sim(**THREE_TASKS, last_page_style=last_page_style)
    run = tap.run(login_config(sim.url, [101]))
    assert run.exit_code == 0, run.stderr
    assert sorted(run.keys) == all_keys(sim, 101)


def test_empty_pages_with_has_next_are_followed(sim, tap):
    sim.set_misbehaviour(101, "empty_pages")
    run = tap.run(login_config(sim.url, [101]))
    assert run.exit_code == 0, run.stderr
    assert sorted(run.keys) == all_keys(sim, 101)
    assert sim.stats()["misbehaviours"]  # the empty pages were really served


def test_a_cursor_of_zero_is_a_cursor(make_sim, tap):
    sim = make_sim(first_sequence_id=0, tasks=1, cases=5)
    run = tap.run(login_config(sim.url, [101], page_size=1))
    assert run.exit_code == 0, run.stderr
    assert sorted(run.keys) == all_keys(sim, 101)
    assert len(run.keys) == 5


def test_has_next_false_with_a_cursor_ends_the_task(sim, tap):
    sim.set_misbehaviour(101, "has_next_false_with_cursor")
    run = tap.run(login_config(sim.url, [101]))
    assert run.exit_code == 0, run.stderr
    assert sorted(run.keys) == all_keys(sim, 101)


@pytest.mark.parametrize(
    ("misbehaviour", "expected"),
    [
        ("cursor_repeat", "instead of moving forward"),
        ("cursor_backwards", "instead of moving forward"),
        ("cursor_cycle", "instead of moving forward"),
        ("has_next_without_cursor", "has_next=true but sent no last_sequence_id"),
        ("has_next_not_bool", "'has_next' is str 'yes', not true or false"),
        ("payload_not_list", "'payload' is dict"),
        ("missing_case_id", "a case result has 'case_id' missing or null"),
        ("wrong_types", "'case_id' str 'abc'"),
        ("wrong_nested_type", "has 'read_stats.total_reads' str '12', which the schema forbids"),
    ],
)
def test_broken_pagination_or_shape_ends_the_run_with_an_error_naming_the_task(
    sim, tap, misbehaviour, expected
):
    sim.set_misbehaviour(102, misbehaviour)
    run = tap.run(login_config(sim.url, [101, 102]), timeout=60)
    assert run.exit_code == 1
    errors = run.error_lines
    assert errors[-1].count("task 102") >= 1, errors
    assert expected in errors[-1]
    assert "Traceback" not in run.stderr
    # Task 101 finished and keeps its bookmark; task 102 gets none, so nothing is skipped.
    bookmarks = partition_bookmarks(run.final_state)
    assert (101, None) in bookmarks
    assert (102, None) not in bookmarks


def test_cursor_error_names_both_cursors(sim, tap):
    sim.set_misbehaviour(101, "cursor_cycle")
    run = tap.run(login_config(sim.url, [101]))
    line = run.error_lines[-1]
    assert "last_sequence_id=" in line
    assert "went from last_sequence_id=" in line
