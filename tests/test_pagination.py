"""Pagination edges: every valid shape of `has_next`/`last_sequence_id` reads a task whole; the
broken pages that tests/reliability/test_bad_responses.py does not try (v1 and v2) fail that
task alone."""

from __future__ import annotations

import pytest

from tests.harness import THREE_TASKS, login_config, partition_bookmarks


@pytest.mark.parametrize(
    ("settings", "misbehaviour", "page_size"),
    [
        pytest.param({"last_page_style": "absent"}, None, 100, id="last-page-without-has_next"),
        pytest.param({"last_page_style": "false"}, None, 100, id="last-page-has_next-false"),
        pytest.param({}, "empty_pages", 100, id="empty-pages-with-has_next"),
        pytest.param({}, "has_next_false_with_cursor", 100, id="has_next-false-with-a-cursor"),
        pytest.param({"first_sequence_id": 0, "cases": 5}, None, 1, id="a-cursor-of-zero"),
    ],
)
def test_every_valid_page_shape_reads_the_task_whole(
    make_sim, tap, settings, misbehaviour, page_size
):
    sim = make_sim(**{**THREE_TASKS, **settings})
    if misbehaviour:
        sim.set_misbehaviour(101, misbehaviour)
    run = tap.run(login_config(sim.url, [101], page_size=page_size))
    assert run.exit_code == 0, run.stderr
    assert sorted(run.keys) == sorted(sim.keys(101))
    assert not misbehaviour or sim.stats()["misbehaviours"]  # really served
    if page_size == 1:  # the first page's cursor is 0
        assert sim.truth_meta(101)[0]["sequence_id"] == 0


@pytest.mark.parametrize(
    ("misbehaviour", "v2_only", "says"),
    [
        ("cursor_cycle", False, None),  # names both cursors: below
        ("wrong_nested_type", False, "'read_stats.total_reads' str '12'"),
        ("wrong_nested_type", True, "'results[0].content_metadata' str 'x'"),
    ],
)
def test_a_broken_page_fails_its_task_alone_saying_what_is_wrong(
    make_sim, tap, misbehaviour, v2_only, says
):
    sim = make_sim(**THREE_TASKS, unsupported_task_ids=(102,) if v2_only else ())
    sim.set_misbehaviour(102, misbehaviour)
    run = tap.run(login_config(sim.url, [101, 102], page_size=20))
    line = run.error_lines[-1]
    assert run.exit_code == 1
    assert "task 102" in line
    if says is None:  # the second page's cursor, then the first's
        seqs = [m["sequence_id"] for m in sim.truth_meta(102)]
        assert f"last_sequence_id={seqs[39]}" in line and str(seqs[19]) in line, line
    else:
        assert says in line
    assert "Traceback" not in run.stderr
    # Task 101 finished and keeps its bookmark; task 102 gets none, so nothing is skipped.
    assert set(partition_bookmarks(run.final_state)) == {(101, None)}
    assert partition_bookmarks(run.final_state, "task_results_v2") == {}
