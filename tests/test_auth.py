"""Logging in again when a token expires, and fixed bearer tokens (one login per run:
test_full_sync.py; a 401 once per task: reliability/test_fault_soak.py; a wrong password and a
401 after every login: reliability/test_bad_responses.py)."""

from __future__ import annotations

from tests.harness import LIST, assert_one_clear_error, bearer_config, login_config


def test_token_expiry_mid_run_logs_in_again_and_loses_nothing(sim, tap):
    sim.set(token_expiry_requests=2)
    run = tap.run(login_config(sim.url, [101, 102], page_size=20))
    assert run.exit_code == 0, run.stderr
    assert sorted(run.keys) == sorted(sim.keys())
    assert sim.stats()["logins"] >= 10
    assert sim.stats()["requests"][LIST].get("401", 0) >= 9


def test_a_bearer_token_is_used_as_is_and_a_rejected_one_says_how_to_renew(sim, tap):
    run = tap.run(bearer_config(sim.url, [102]))
    assert run.exit_code == 0, run.stderr
    assert len(run.keys) == 120
    assert sim.stats()["logins"] == 0
    sim.script_faults([{"kind": "401", "count": 1, "path": LIST}])
    rejected = tap.run(bearer_config(sim.url, [102]))
    assert_one_clear_error(rejected, "rejected the bearer token", "username and api_password")
    assert rejected.exit_code == 1


def test_a_restricted_country_is_named_on_a_bearer_tokens_first_request(sim, tap):
    """With a login, the login answers 403: reliability/test_bad_responses.py."""
    sim.set(restricted_country=True)
    assert_one_clear_error(tap.run(bearer_config(sim.url, [101])), "HTTP 403", "allowed location")
