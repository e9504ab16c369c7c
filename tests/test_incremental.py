"""Incremental runs: bookmarks from the server's clock, never skipping a case (cases updated in
a bookmark's second: tests/reliability/test_clocks.py; during a run: test_moving_data.py)."""

from __future__ import annotations

import copy

from tests.harness import login_config, partition_bookmarks


def test_second_run_returns_only_cases_updated_in_between(sim, tap):
    config = login_config(sim.url, [101, 102, 103])
    first = tap.run(config)
    assert len(first.keys) == 370
    updated = sim.update_cases(101, count=5, rng_seed=1)
    added = sim.add_cases(102, 3)
    second = tap.run(config, first.final_state)
    assert second.exit_code == 0, second.stderr
    assert sorted(second.keys) == sorted([(101, c) for c in updated] + [(102, c) for c in added])
    truth = sim.truth_by_key()
    for record in second.records_of("task_results"):
        assert record == truth[(record["task_id"], record["case_id"])]
    # A bookmark sits up to a round trip (rounded up to whole seconds) before the run's first
    # query, so cases updated in that window come again; nothing else does.
    third = tap.run(config, second.final_state)
    assert set(third.keys) <= set(second.keys)


def test_bookmark_wins_over_start_date(sim, tap):
    config = login_config(sim.url, [102], start_date="2000-01-01")
    first = tap.run(config)
    assert len(first.keys) == 120
    second = tap.run(config, first.final_state)
    assert second.keys == []


def test_labeling_state_change_does_not_reuse_another_filters_bookmark(sim, tap):
    labeled = tap.run(login_config(sim.url, [101], labeling_state="Labeled"))
    flagged = tap.run(login_config(sim.url, [101], labeling_state="Flagged"), labeled.final_state)
    expected = sorted(
        (101, c["case_id"]) for c in sim.truth(101) if c["labeling_state"] == "Flagged"
    )
    assert expected and sorted(flagged.keys) == expected


def test_resuming_from_any_emitted_state_loses_nothing(sim, tap):
    config = login_config(sim.url, [101, 102, 103])
    full = tap.run(config)
    all_keys = set(full.keys)
    for state in full.states:
        resumed = tap.run(config, copy.deepcopy(state))
        assert resumed.exit_code == 0, resumed.stderr
        done = {task for task, _ in partition_bookmarks(state)}
        expected = {key for key in all_keys if key[0] not in done}
        # Finished tasks are not re-read (nothing changed); unfinished ones are read whole.
        assert set(resumed.keys) == expected
