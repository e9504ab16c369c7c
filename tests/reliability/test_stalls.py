"""Scenario 9, stalled bodies: each attempt at an answer dripped a byte at a time ends at
`request_timeout` (bounded loosely), is retried, then fails its task only, naming the page."""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

import pytest

from tests.harness import LIST, Run, assert_one_clear_error, bearer_config, partition_bookmarks
from tests.reliability import SIM, TASKS

MAX_RETRIES = 1
STALL = {"kind": "stall", "count": 1_000_000, "path": LIST}
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \|")

CASES = [
    pytest.param(0.2, 1.0, [102], "first page", id="task-102-0.2s-per-byte-timeout-1s"),
    pytest.param(0.5, 1.5, [102], "first page", id="task-102-0.5s-per-byte-timeout-1.5s"),
    pytest.param(1.0, 2.0, [102], "last_sequence_id=", id="task-102-page-2-1s-per-byte-timeout-2s"),
    pytest.param(0.2, 1.0, list(TASKS), "first page", id="every-task-0.2s-per-byte-timeout-1s"),
]


def _stamps(run: Run, text: str) -> list[float]:
    """Epoch times of the log lines holding `text`."""
    lines = [line for line in run.stderr.splitlines() if text in line and _STAMP.match(line)]
    return [datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp() for line in lines]


def _faults(stalled: list[int], page: str) -> list[dict[str, Any]]:
    """Every answer of the stalled tasks stalls, or every one after a first page (no Date)."""
    no_date = [{"kind": "no_date", "path": LIST, "task_id": task} for task in stalled]
    return (no_date if page != "first page" else []) + [{**STALL, "task_id": t} for t in stalled]


@pytest.mark.timeout(120)  # the tap of 04698e7 waited for the whole body: hours
@pytest.mark.parametrize(("byte_seconds", "timeout", "stalled", "page"), CASES)
def test_a_stalled_body_is_cut_at_request_timeout_retried_then_fails_its_task_only(  # noqa: PLR0917
    make_sim, tap, figures, byte_seconds, timeout, stalled, page
):
    sim = make_sim(**SIM, stall_byte_seconds=byte_seconds)
    sim.script_faults(_faults(stalled, page))
    settings = {"page_size": 20, "request_timeout": timeout, "max_retries": MAX_RETRIES}
    # Every task stalled would trip max_consecutive_task_failures (3), a race: out of reach.
    config = bearer_config(sim.url, TASKS, **settings, max_consecutive_task_failures=4)
    run = tap.run(config, args=("--catalog", str(tap.catalog_selecting(config, ["task_results"]))))

    attempts = (MAX_RETRIES + 1) * len(stalled)
    # Under load the simulator may take a request after the tap gave up on it, even after the
    # run: wait for it. No logout (it made that answer a 401), no other stream (late, it fails).
    deadline = time.monotonic() + 30
    while sim.stats()["faults"].get("stall", 0) < attempts and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sim.stats()["faults"].get("stall") == attempts, sim.stats()["faults"]
    line = assert_one_clear_error(run, f"request_timeout={timeout:g} s", "giving up after 2")
    for task in stalled:
        assert f"task {task} ({page}" in run.stderr, f"task {task} and its page not named"
    if len(stalled) == 1:
        assert f"task {stalled[0]} ({page}" in line, line
    # Each attempt ended at the deadline: from the start of the results to the retry, from
    # the retry to the failure (one stalled task), all within the run's duration (several).
    started = _stamps(run, "partitions to read")[0]
    retried = _stamps(run, "Retrying (")
    failed = _stamps(run, "failed; the other tasks go on")
    assert len(retried) == len(stalled) and len(failed) == len(stalled)
    if len(stalled) == 1:
        durations = [retried[0] - started, failed[0] - retried[0]]
        if page != "first page":
            durations = durations[1:]  # the first attempt began after page 1
        for seconds in durations:
            assert timeout * 0.9 <= seconds < 3 * timeout + 1, f"an attempt took {seconds:.2f} s"
    else:
        durations = [max(failed) - started]
        assert durations[0] < attempts * 3 * timeout, f"the stalled tasks took {durations[0]} s"

    synced = [task for task in TASKS if task not in stalled]
    assert set(partition_bookmarks(run.final_state)) == {(task, None) for task in synced}
    for task in synced:
        assert {k for k in run.keys if k[0] == task} == sim.keys(task)
    figures.update(
        attempt_seconds=[round(seconds, 2) for seconds in durations],
        run_seconds=round(run.duration, 2),
    )
