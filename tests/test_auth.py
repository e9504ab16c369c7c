"""Logging in, renewing expired tokens, and fixed bearer tokens (a wrong password:
test_task_failures.py; a 401 that outlasts fresh logins: reliability/test_bad_responses.py)."""

from __future__ import annotations

import pytest

from tests.harness import assert_one_clear_error, bearer_config, login_config


def test_logs_in_once_at_the_start(sim, tap):
    sim.reset_stats()
    run = tap.run(login_config(sim.url, [101, 102]))
    assert run.exit_code == 0, run.stderr
    assert sim.stats()["logins"] == 1


def test_token_expiry_mid_run_logs_in_again_and_loses_nothing(sim, tap):
    sim.set(token_expiry_requests=2)
    sim.reset_stats()
    run = tap.run(login_config(sim.url, [101, 102], page_size=20))
    assert run.exit_code == 0, run.stderr
    assert sorted(run.keys) == sorted((c["task_id"], c["case_id"]) for c in sim.truth())
    assert len(set(run.keys)) == 370
    stats = sim.stats()
    assert stats["logins"] >= 10
    assert stats["requests"]["/results/public/v1/list"].get("401", 0) >= 9


def test_a_401_is_retried_once_after_a_new_login(sim, tap):
    sim.script_faults([{"kind": "401", "count": 1, "path": "/results/public/v1/list"}])
    sim.reset_stats()
    run = tap.run(login_config(sim.url, [102]))
    assert run.exit_code == 0, run.stderr
    assert sim.stats()["logins"] == 2


def test_bearer_token_is_used_as_is(sim, tap):
    sim.reset_stats()
    run = tap.run(bearer_config(sim.url, [102]))
    assert run.exit_code == 0, run.stderr
    assert len(run.keys) == 120
    assert sim.stats()["logins"] == 0


def test_rejected_bearer_token_says_how_to_renew(sim, tap):
    sim.script_faults([{"kind": "401", "count": 1, "path": "/results/public/v1/list"}])
    run = tap.run(bearer_config(sim.url, [102]))
    assert run.exit_code == 1
    last = run.error_lines[-1]
    assert "rejected the bearer token" in last
    assert "username and api_password" in last
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("make_config", [login_config, bearer_config], ids=["login", "bearer"])
def test_a_restricted_country_is_named(sim, tap, make_config):
    """The login (or, with a bearer token, the first results page) answers 403."""
    sim.set(restricted_country=True)
    run = tap.run(make_config(sim.url, [101]))
    assert_one_clear_error(run, "HTTP 403", "restricted_country", "country")
