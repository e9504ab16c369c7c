"""Scenario 13, logout: a run that logged in logs out once, as its last request."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.harness import LIST, STATIC_TOKEN, Sim, bearer_config, login_config
from tests.harness.in_process import wait_for_tap_threads

TASKS = (101, 102, 103)
SIM = {"tasks": 3, "cases": (60, 40, 20), "page_size": 20, "record_requests": True}
LOGOUT = "/auth/public/v1/logout"

REFUSED_REDIRECT = {"kind": "redirect", "location": "http://127.0.0.1:9/elsewhere"}
ENDINGS = [
    pytest.param([], 0, id="a-run-that-succeeds"),
    pytest.param(
        [{"kind": "500", "count": 3, "path": LIST, "task_id": 102}], 1, id="a-task-failed"
    ),
    pytest.param(
        [{**REFUSED_REDIRECT, "count": 100, "path": LIST, "task_id": 102}],
        1,
        id="stopped-by-a-refused-redirect",
    ),
]


def _logouts(sim: Sim) -> list[dict[str, Any]]:
    return [r for r in sim.requests() if r["path"] == LOGOUT]


@pytest.mark.parametrize(("faults", "exit_code"), ENDINGS)
def test_a_run_that_logged_in_logs_out_once_at_its_end(make_sim, tap, figures, faults, exit_code):
    sim = make_sim(**SIM)
    sim.script_faults(faults)
    run = tap.run(login_config(sim.url, TASKS, page_size=20, max_retries=2), log_level="DEBUG")
    assert run.exit_code == exit_code, run.stderr[-3000:]
    stats = sim.stats()
    logouts = _logouts(sim)
    assert len(logouts) == 1 and sim.requests()[-1]["path"] == LOGOUT, "not the last request"
    last_token = sim.issued_tokens[-1]
    assert logouts[0]["headers"].get("authorization") == f"Bearer {last_token}"
    assert logouts[0]["headers"].get("x-api-key")
    assert stats["live_tokens"] == 0, "a token the run logged in for is still live"
    figures.update(exit_code=run.exit_code, logins=stats["logins"], logouts=stats["logouts"])


@pytest.mark.parametrize("kind", ["500", "reset"])
def test_a_logout_that_fails_is_a_warning_not_the_runs_result(make_sim, tap, kind):
    sim = make_sim(**SIM)
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
    sim = make_sim(**SIM)
    run = tap.run(bearer_config(sim.url, TASKS, page_size=20), log_level="DEBUG")
    assert run.exit_code == 0, run.stderr[-3000:]
    assert sim.stats()["logouts"] == 0 and _logouts(sim) == []
    assert sim.stats()["logins"] == 0
    assert all(
        r["headers"].get("authorization") == f"Bearer {STATIC_TOKEN}" for r in sim.requests()
    )


def test_a_run_stopped_before_its_results_logs_out_after_its_last_request(make_sim, tap):
    sim = make_sim(tasks=6, cases=(300,) * 6, page_size=20, latency_ms=20, record_requests=True)
    sim.script_faults([{**REFUSED_REDIRECT, "count": 1000, "path": "/projects/"}])
    try:
        run = tap.run(login_config(sim.url, range(101, 107), page_size=20))
        assert run.exit_code == 1, run.stderr[-3000:]
        assert "another origin" in run.error_lines[-1]
        time.sleep(0.5)  # anything the run's threads still send
        paths = [r["path"] for r in sim.requests()]
        assert paths.count(LOGOUT) == 1, paths
        after = len(paths) - 1 - paths.index(LOGOUT)
        assert after == 0, f"{after} requests after the logout"
        assert sim.stats()["logins"] == 1 and sim.stats()["live_tokens"] == 0, sim.stats()
    finally:
        sim.stop()  # the threads the run left behind now fail fast, and end
        wait_for_tap_threads()
