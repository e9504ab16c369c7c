"""Logging in, renewing expired tokens, and fixed bearer tokens."""

from __future__ import annotations

from tests.harness import bearer_config, login_config


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


def test_wrong_password_is_a_clear_login_error(sim, tap):
    run = tap.run(login_config(sim.url, [101], api_password="wrong-password-99"))
    assert run.exit_code == 1
    last = run.error_lines[-1]
    assert "login: the API rejected the credentials (HTTP 401" in last
    assert "wrong-password-99" not in run.stderr


def test_login_refused_by_country_restriction(sim, tap):
    sim.set(restricted_country=True)
    run = tap.run(login_config(sim.url, [101]))
    assert run.exit_code == 1
    last = run.error_lines[-1]
    assert "HTTP 403 restricted_country" in last


def test_a_401_that_outlasts_fresh_logins_ends_the_run(sim, tap):
    config = login_config(sim.url, [102])
    # Only task_results: the task list's requests, sent meanwhile, would share the revoked
    # tokens and could be the ones to give up.
    catalog = tap.catalog_selecting(config, ["task_results"])
    sim.script_faults([{"kind": "401", "count": 10, "path": "/results/public/v1/list"}])
    sim.reset_stats()
    run = tap.run(config, args=("--catalog", str(catalog)))
    assert run.exit_code == 1
    last = run.error_lines[-1]
    assert (
        "task 102 (first page): the API answered 401 even with a fresh token (3 logins in a row)"
        in last
    )
    assert sim.stats()["logins"] == 4
