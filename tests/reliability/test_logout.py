"""Scenario 13, logout: a run that logged in logs out once, as its last request."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import LIST, STATIC_TOKEN, Sim, bearer_config, login_config
from tests.harness.in_process import wait_for_tap_threads
from tests.reliability import SIM, TASKS

LOGOUT = "/auth/public/v1/logout"
REFUSED_REDIRECT = {"kind": "redirect", "location": "http://127.0.0.1:9/elsewhere"}
#: The last: stopped by the project list, before its results stream, whose workers started early.
ENDINGS = {
    "a-run-that-succeeds": ([], 0, SIM),
    "a-task-failed": ([{"kind": "500", "count": 3, "path": LIST, "task_id": 102}], 1, SIM),
    "stopped-by-a-refused-redirect": (
        [{**REFUSED_REDIRECT, "count": 100, "path": LIST, "task_id": 102}],
        1,
        SIM,
    ),
    "stopped-before-its-results": (
        [{**REFUSED_REDIRECT, "count": 1000, "path": "/projects/"}],
        1,
        {"tasks": 6, "cases": (300,) * 6, "page_size": 20, "latency_ms": 20},
    ),
}

pytestmark = pytest.mark.usefixtures("no_tap_thread_outlives_the_test")


def _logouts(sim: Sim) -> list[dict[str, Any]]:
    return [r for r in sim.requests() if r["path"] == LOGOUT]


@pytest.mark.parametrize("ending", ENDINGS)
def test_a_run_that_logged_in_logs_out_once_as_its_last_request(make_sim, tap, figures, ending):
    faults, exit_code, sim_settings = ENDINGS[ending]
    sim = make_sim(**sim_settings, record_requests=True)
    sim.script_faults(faults)
    config = login_config(sim.url, sim.task_ids(), page_size=20, max_retries=2)
    run = tap.run(config, log_level="DEBUG")
    assert run.exit_code == exit_code, run.stderr[-3000:]
    wait_for_tap_threads()  # anything the run's threads still send
    stats, logouts, paths = sim.stats(), _logouts(sim), [r["path"] for r in sim.requests()]
    assert len(logouts) == 1 and paths[-1] == LOGOUT, f"not once and last: {paths[-5:]}"
    assert logouts[0]["headers"].get("authorization") == f"Bearer {sim.issued_tokens[-1]}"
    assert logouts[0]["headers"].get("x-api-key")
    assert stats["logins"] == 1 and stats["live_tokens"] == 0, stats
    figures.update(exit_code=run.exit_code, logins=stats["logins"], logouts=stats["logouts"])


@pytest.mark.parametrize("kind", ["500", "reset"])
def test_a_logout_that_fails_is_a_warning_not_the_runs_result(make_sim, tap, kind):
    sim = make_sim(**SIM, record_requests=True)
    sim.script_faults([{"kind": kind, "path": LOGOUT}])
    run = tap.run(login_config(sim.url, TASKS, page_size=20))
    assert run.exit_code == 0, run.stderr[-3000:]
    assert not run.error_lines, run.error_lines
    warnings = [line for line in run.stderr.splitlines() if "Logging out failed" in line]
    assert len(warnings) == 1 and "| WARNING" in warnings[0], warnings
    assert "expires by itself" in warnings[0]
    assert len(_logouts(sim)) == 1, "the logout was retried"
    assert set(run.keys) == sim.keys()


def test_a_bearer_token_run_never_logs_out(make_sim, tap):
    sim = make_sim(**SIM, record_requests=True)
    run = tap.run(bearer_config(sim.url, TASKS, page_size=20), log_level="DEBUG")
    assert run.exit_code == 0, run.stderr[-3000:]
    assert sim.stats()["logouts"] == 0 and sim.stats()["logins"] == 0
    assert {r["headers"].get("authorization") for r in sim.requests()} == {f"Bearer {STATIC_TOKEN}"}
