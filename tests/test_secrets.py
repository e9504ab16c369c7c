"""No credential ever appears in stdout, stderr or STATE, even at DEBUG."""

from __future__ import annotations

import json

import pytest

from tests.harness import LIST, SECRETS, STATIC_TOKEN, bearer_config, login_config

SCENARIOS = {
    "login, token expiry and faults": (
        lambda sim: login_config(sim.url, [101, 102], page_size=50),
        lambda sim: (
            sim.set(token_expiry_requests=3),
            sim.script_faults([{"kind": "503", "count": 1}, {"kind": "429", "count": 1}]),
        ),
    ),
    "rejected bearer token": (
        lambda sim: bearer_config(sim.url, [101]),
        lambda sim: sim.script_faults([{"kind": "401", "count": 1, "path": LIST}]),
    ),
    "wrong password": (
        lambda sim: login_config(sim.url, [101], api_password="sim-wrong-password-4417"),
        lambda sim: None,
    ),
    "retries exhausted": (
        lambda sim: login_config(sim.url, [101], max_retries=1),
        lambda sim: sim.script_faults([{"kind": "500", "count": 5, "path": LIST}]),
    ),
    "config error with both auth methods": (
        lambda sim: {**login_config(sim.url, [101]), "bearer_token": STATIC_TOKEN},
        lambda sim: None,
    ),
    "secret of the wrong type": (
        lambda sim: {**login_config(sim.url, [101]), "api_password": 73311894221},
        lambda sim: None,
    ),
    "pagination error": (
        lambda sim: login_config(sim.url, [101]),
        lambda sim: sim.set_misbehaviour(101, "cursor_cycle"),
    ),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_secret_in_any_output_at_debug(sim, tap, scenario):
    make_config, prepare = SCENARIOS[scenario]
    config = make_config(sim)
    prepare(sim)
    run = tap.run(config, log_level="DEBUG")
    assert "DEBUG" in run.stderr  # the run really logged at DEBUG
    secrets = [*SECRETS, *sim.issued_tokens, "sim-wrong-password-4417", "73311894221"]
    state_text = json.dumps(run.states)
    for secret in secrets:
        assert secret not in run.stdout
        assert secret not in run.stderr
        assert secret not in state_text
