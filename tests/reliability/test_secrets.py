"""Scenario 6, secrets: no secret in stdout, stderr, STATE or the state file, at any level.

Every tap run of the test suite goes through `tests.harness.TapRunner.run`, which checks the
API key, the API password, the bearer token, every session token the simulators issued, the
credentials in the run's config and any secret the test adds (a wrong password, a secret
given as a number) against stdout, stderr, every STATE message and the state file written
from the last one; the number of runs checked is reported at the end of the session (the
`secret_checks` figure). Scenarios 1-3 run at DEBUG; scenarios 4 and 5 run every case at
INFO and at DEBUG. This file adds the paths most
likely to leak, at DEBUG: settings passed in environment variables (`--config ENV`, as
Meltano may), a login whose tokens expire and get revoked mid-run, retries, and a fatal
error at the end; and checks that the check itself catches a leak.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.harness import (
    API_KEY,
    API_PASSWORD,
    LIST,
    LOGIN,
    STATIC_TOKEN,
    Run,
    assert_no_secrets,
    bearer_config,
    login_config,
)


@pytest.mark.parametrize("config_in_env", [False, True], ids=["config-file", "config-env"])
def test_login_expiry_revocation_retries_and_a_fatal_error_leak_nothing(
    make_sim, tap, config_in_env
):
    sim = make_sim(tasks=3, cases=(200, 150, 100), page_size=25, token_expiry_requests=4)
    sim.script_faults(
        [
            {"kind": "503", "path": LOGIN},
            {"kind": "401", "path": LIST, "task_id": 101},
            {"kind": "429", "path": LIST, "task_id": 102},
            {"kind": "truncate", "path": LIST, "task_id": 102},
            {"kind": "403", "path": LIST, "task_id": 103},
        ]
    )
    config = login_config(sim.url, (101, 102, 103))
    if config_in_env:  # numbers cannot be passed in variables yet (see test_bad_config.py)
        del config["backoff_factor"]
    run = tap.run(config, log_level="DEBUG", config_in_env=config_in_env)
    assert run.exit_code != 0  # the 403 on task 103
    assert "| DEBUG" in run.stderr
    assert run.retries >= 3
    assert len(sim.issued_tokens) >= 5, "tokens were not renewed: the path was not exercised"
    assert {(r["task_id"]) for r in run.records} == {101, 102}


def test_bearer_token_rejected_mid_run_leaks_nothing(make_sim, tap):
    sim = make_sim(tasks=2, cases=(60, 60), page_size=20)
    sim.script_faults([{"kind": "401", "path": LIST, "task_id": 102}])
    config = bearer_config(sim.url, (101, 102))
    del config["backoff_factor"]
    run = tap.run(config, log_level="DEBUG", config_in_env=True)
    assert run.exit_code != 0
    assert "bearer token" in run.error_lines[-1]


@pytest.mark.parametrize("place", ["stdout", "stderr", "state"])
@pytest.mark.parametrize("secret", [API_KEY, API_PASSWORD, STATIC_TOKEN])
def test_the_check_catches_a_leak(tmp_path: Path, place: str, secret: str):
    state = {"bookmarks": {"note": secret if place == "state" else "-"}}
    run = Run(
        exit_code=0,
        stdout=secret if place == "stdout" else "",
        stderr=secret if place == "stderr" else "",
        duration=0.0,
        messages=[{"type": "STATE", "value": state}],
    )
    run.state_file = tmp_path / "state.json"
    run.state_file.write_text(json.dumps(state))
    with pytest.raises(AssertionError, match="leaked into"):
        assert_no_secrets(run, [secret])
