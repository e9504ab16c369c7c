"""Scenario 4, bad config: refused before any request, at INFO and DEBUG: exit 2, no output,
one ERROR line naming the setting, no traceback at INFO, no secret echoed (nor a numeric one)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.harness import API_PASSWORD, STATIC_TOKEN, assert_one_clear_error, login_config
from tests.reliability import assert_refused

DROP = object()  # remove the setting
NO_LOGIN = {"username": DROP, "api_password": DROP}
NUMERIC_SECRET = 73311894221  # a secret given as a number: must not be echoed either
URL_PASSWORD = "tct-urlpass-Rm3Kd8Wq"  # a password in api_url: must not be echoed either
#: An hour ahead of now, written with another offset than UTC's.
AN_HOUR_AHEAD = (
    (datetime.now(timezone.utc) + timedelta(hours=1))
    .astimezone(timezone(timedelta(hours=2)))
    .isoformat(timespec="seconds")
)

#: {"<setting the error must name>-<what is wrong>": overrides}
BAD_CONFIGS: dict[str, dict[str, Any]] = {
    "api_key-missing": {"api_key": DROP},
    "api_key-number": {"api_key": NUMERIC_SECRET},
    "api_password-number": {"api_password": NUMERIC_SECRET},
    "api_password-missing-with-username": {"api_password": DROP},
    "username-missing-with-api_password": {"username": DROP},
    "bearer_token-with-username-and-api_password": {"bearer_token": STATIC_TOKEN},
    "username-missing-and-no-bearer_token": NO_LOGIN,
    "bearer_token-list": {**NO_LOGIN, "bearer_token": [STATIC_TOKEN]},
    "task_ids-negative": {"task_ids": [101, -4]},
    "project_ids-abc": {"project_ids": ["abc"]},
    "task_ids-abc": {"task_ids": ["abc"]},
    "task_ids-zero": {"task_ids": [0]},
    "task_ids-float": {"task_ids": [101.5]},
    "task_ids-object": {"task_ids": {"id": 101}},
    "labeling_state-unknown": {"labeling_state": "Done"},
    "labeling_state-one-bad-in-list": {"labeling_state": ["Labeled", "Nope"]},
    "start_date-garbage": {"start_date": "garbage"},
    "start_date-month-13": {"start_date": "2024-13-45"},
    "start_date-before-year-1-in-utc": {"start_date": "0001-01-01T00:00:00+01:00"},
    "api_url-without-scheme": {"api_url": "api.centaurlabs.com"},
    "api_url-ftp": {"api_url": "ftp://api.centaurlabs.com"},
    "api_url-bracket-left-open": {"api_url": "https://[::1"},
    "api_url-port-out-of-range": {"api_url": "https://api.centaurlabs.com:99999"},
    "page_size-zero": {"page_size": 0},
    "page_size-text": {"page_size": "a hundred"},
    "request_timeout-zero": {"request_timeout": 0},
    "max_retries-negative": {"max_retries": -1},
    "backoff_factor-negative": {"backoff_factor": -0.5},
    "case_ids-incomplete": {"case_ids": [{"task_id": 101}]},
    "max_parallel_tasks-zero": {"max_parallel_tasks": 0},
    # Issue 19: characters no header can carry, bounds, userinfo in a URL with a typo.
    "api_key-newline-inside": {"api_key": "tct-apikey-\nQ7x2Vd9Lm4Kf"},
    "api_password-typographic-quote": {"api_password": "\u2018" + API_PASSWORD},
    "username-escape": {"username": "robot\x1b[2J@example.com"},
    "bearer_token-non-ascii": {**NO_LOGIN, "bearer_token": "tct-bearer-Hs5Ny0Pc2Ju\u00e9"},
    "api_url-userinfo-bad-scheme": {"api_url": f"htps://robot:{URL_PASSWORD}@h"},
    "api_url-userinfo-no-scheme": {"api_url": f"robot:{URL_PASSWORD}@host"},
    "request_timeout-1e-9": {"request_timeout": 1e-9},
    "request_timeout-text-1e-9": {"request_timeout": "1e-9"},
    "request_timeout-a-year": {"request_timeout": 31536000},
    "max_parallel_tasks-superscript": {"max_parallel_tasks": "\u00b2"},
    "task_ids-superscript": {"task_ids": ["\u00b2"]},
    "lookback_seconds-1e11": {"lookback_seconds": 10**11},
    "max_retries-1e6": {"max_retries": 10**6},
    "backoff_factor-1e300": {"backoff_factor": 1e300},
    "state_interval_seconds-1e300": {"state_interval_seconds": 1e300},
    "task_ids-a-text": {"task_ids": "101"},
    "max_response_mb-2**44": {"max_response_mb": 2**44},
    "shard_index-past-shard_count": {"shard_count": 2, "shard_index": 2},
    "shard_count-zero": {"shard_count": 0},
    "shard_index-negative": {"shard_index": -1},
    "shard_count-text": {"shard_count": "two"},
    # Issue 19: a typo in start_date (or a clock ahead) never costs history.
    "start_date-a-typo": {"start_date": "2205-01-01"},
    "start_date-an-hour-ahead": {"start_date": AN_HOUR_AHEAD},
}
#: What the error line says besides the setting's name, where the name alone is not the point.
SAYS = {
    "shard_index-past-shard_count": "shard_count is 2",
    "shard_count-zero": "at least 1",
    "shard_index-negative": "at least 0",
    "start_date-a-typo": "'2205-01-01' (",
    "start_date-an-hour-ahead": "later than now",
}


@pytest.mark.parametrize("name", BAD_CONFIGS)
def test_bad_config_exits_before_any_request_naming_the_setting(make_sim, tap, name):
    sim = make_sim(tasks=2, cases=(30, 20))
    config = {**login_config(sim.url, [101, 102]), **BAD_CONFIGS[name]}
    config = {setting: value for setting, value in config.items() if value is not DROP}
    runs = tap.run_at_levels(config, extra_secrets=[str(NUMERIC_SECRET), URL_PASSWORD])

    assert sim.stats()["total_requests"] == 0, "a request was sent despite the bad config"
    assert_refused(runs, f"Invalid setting '{name.split('-')[0]}", SAYS.get(name, ""))


ENV_CASES = [
    ("REQUEST_TIMEOUT", "1e-9", ("Invalid setting 'request_timeout'",)),
    ("MAX_PARALLEL_TASKS", "\u00b2", ("Invalid setting 'max_parallel_tasks'",)),
    ("LOOKBACK_SECONDS", "100000000000", ("Invalid setting 'lookback_seconds'",)),
    ("MAX_RETRIES", "-1", ("Invalid setting 'max_retries'",)),
    # Not JSON: the SDK splits it at its commas ('[101').
    ("TASK_IDS", "[101,102", ("'task_ids'", "looks like a JSON list", "1234,5678")),
    ("LOGLEVEL", "VERBOSE", ("'TAP_CENTAUR_LOGLEVEL'", "'VERBOSE'", "DEBUG, INFO")),
]


@pytest.mark.parametrize(("name", "value", "fragments"), ENV_CASES, ids=[c[0] for c in ENV_CASES])
def test_a_bad_environment_variable_is_named(make_sim, tap, name, value, fragments):
    sim = make_sim(tasks=2, cases=1)
    config = {k: v for k, v in login_config(sim.url, [101]).items() if k.upper() != name}
    run = tap.run(config, config_in_env=True, env={f"TAP_CENTAUR_{name}": value})
    assert_one_clear_error(run, *fragments)
    assert run.exit_code == 2 and sim.stats()["total_requests"] == 0


def test_a_bad_sdk_setting_is_named_by_the_sdk(make_sim, tap):
    sim = make_sim(tasks=1, cases=1)
    run = tap.run(login_config(sim.url, [101], flattening_max_depth="deep"))
    assert run.exit_code != 0 and "Traceback" not in run.stderr
    assert any("config['flattening_max_depth']" in line for line in run.error_lines)
    assert sim.stats()["total_requests"] == 0


def test_number_settings_from_environment_variables_are_accepted(make_sim, tap):
    sim = make_sim(tasks=1, cases=10)
    config = login_config(sim.url, [101], request_timeout=30, backoff_factor=0.5)
    run = tap.run(config, config_in_env=True)
    assert run.exit_code == 0 and len(run.records) == 10, run.error_lines
