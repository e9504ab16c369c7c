"""Scenario 4, bad config: each malformed config is refused before any request.

At INFO and DEBUG: exit 2, no request, nothing on stdout, one ERROR line naming the setting,
no traceback at INFO, no secret echoed (one given as a number included).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.harness import API_PASSWORD, STATIC_TOKEN, assert_one_clear_error, login_config
from tests.reliability import assert_refused

DROP = object()  # remove the setting
NUMERIC_SECRET = 73311894221  # a secret given as a number: must not be echoed either
URL_PASSWORD = "tct-urlpass-Rm3Kd8Wq"  # a password in api_url: must not be echoed either
#: An hour ahead of now, written with another offset than UTC's.
AN_HOUR_AHEAD = (
    (datetime.now(timezone.utc) + timedelta(hours=1))
    .astimezone(timezone(timedelta(hours=2)))
    .isoformat(timespec="seconds")
)

BAD_CONFIGS: list[tuple[str, dict[str, Any], str]] = [
    # (id, overrides, setting the error must name)
    ("api_key-missing", {"api_key": DROP}, "api_key"),
    ("api_key-number", {"api_key": NUMERIC_SECRET}, "api_key"),
    ("api_password-number", {"api_password": NUMERIC_SECRET}, "api_password"),
    ("username-without-password", {"api_password": DROP}, "api_password"),
    ("password-without-username", {"username": DROP}, "username"),
    ("both-auth-methods", {"bearer_token": STATIC_TOKEN}, "bearer_token"),
    ("neither-auth-method", {"username": DROP, "api_password": DROP}, "username"),
    (
        "bearer_token-list",
        {"username": DROP, "api_password": DROP, "bearer_token": [STATIC_TOKEN]},
        "bearer_token",
    ),
    ("task_ids-negative", {"task_ids": [101, -4]}, "task_ids"),
    ("project_ids-abc", {"project_ids": ["abc"]}, "project_ids"),
    ("task_ids-abc", {"task_ids": ["abc"]}, "task_ids"),
    ("task_ids-zero", {"task_ids": [0]}, "task_ids"),
    ("task_ids-float", {"task_ids": [101.5]}, "task_ids"),
    ("task_ids-object", {"task_ids": {"id": 101}}, "task_ids"),
    ("labeling_state-unknown", {"labeling_state": "Done"}, "labeling_state"),
    ("labeling_state-one-bad-in-list", {"labeling_state": ["Labeled", "Nope"]}, "labeling_state"),
    ("start_date-garbage", {"start_date": "garbage"}, "start_date"),
    ("start_date-month-13", {"start_date": "2024-13-45"}, "start_date"),
    ("start_date-before-year-1-in-utc", {"start_date": "0001-01-01T00:00:00+01:00"}, "start_date"),
    ("api_url-without-scheme", {"api_url": "api.centaurlabs.com"}, "api_url"),
    ("api_url-ftp", {"api_url": "ftp://api.centaurlabs.com"}, "api_url"),
    ("page_size-zero", {"page_size": 0}, "page_size"),
    ("page_size-text", {"page_size": "a hundred"}, "page_size"),
    ("request_timeout-zero", {"request_timeout": 0}, "request_timeout"),
    ("max_retries-negative", {"max_retries": -1}, "max_retries"),
    ("backoff_factor-negative", {"backoff_factor": -0.5}, "backoff_factor"),
    ("case_ids-incomplete", {"case_ids": [{"task_id": 101}]}, "case_ids"),
    ("max_parallel_tasks-zero", {"max_parallel_tasks": 0}, "max_parallel_tasks"),
    # Issue 19: characters no header can carry, bounds, userinfo in a URL with a typo.
    ("api_key-newline-inside", {"api_key": "tct-apikey-\nQ7x2Vd9Lm4Kf"}, "api_key"),
    ("api_password-typographic-quote", {"api_password": "\u2018" + API_PASSWORD}, "api_password"),
    ("username-escape", {"username": "robot\x1b[2J@example.com"}, "username"),
    (
        "bearer_token-non-ascii",
        {"username": DROP, "api_password": DROP, "bearer_token": "tct-bearer-Hs5Ny0Pc2Ju\u00e9"},
        "bearer_token",
    ),
    ("api_url-userinfo-bad-scheme", {"api_url": f"htps://robot:{URL_PASSWORD}@h"}, "api_url"),
    ("api_url-userinfo-no-scheme", {"api_url": f"robot:{URL_PASSWORD}@host"}, "api_url"),
    ("request_timeout-1e-9", {"request_timeout": 1e-9}, "request_timeout"),
    ("request_timeout-text-1e-9", {"request_timeout": "1e-9"}, "request_timeout"),
    ("request_timeout-a-year", {"request_timeout": 31536000}, "request_timeout"),
    ("max_parallel_tasks-superscript", {"max_parallel_tasks": "\u00b2"}, "max_parallel_tasks"),
    ("task_ids-superscript", {"task_ids": ["\u00b2"]}, "task_ids"),
    ("lookback_seconds-1e11", {"lookback_seconds": 10**11}, "lookback_seconds"),
    ("max_retries-1e6", {"max_retries": 10**6}, "max_retries"),
    ("backoff_factor-1e300", {"backoff_factor": 1e300}, "backoff_factor"),
    ("state_interval_seconds-1e300", {"state_interval_seconds": 1e300}, "state_interval_seconds"),
    ("task_ids-a-text", {"task_ids": "101"}, "task_ids"),
    ("max_response_mb-2**44", {"max_response_mb": 2**44}, "max_response_mb"),
    ("shard_index-past-shard_count", {"shard_count": 2, "shard_index": 2}, "shard_index"),
    ("shard_count-zero", {"shard_count": 0}, "shard_count"),
    ("shard_index-negative", {"shard_index": -1}, "shard_index"),
    ("shard_count-text", {"shard_count": "two"}, "shard_count"),
    # Issue 19: a typo in start_date (or a clock ahead) never costs history.
    ("start_date-a-typo", {"start_date": "2205-01-01"}, "start_date"),
    ("start_date-an-hour-ahead", {"start_date": AN_HOUR_AHEAD}, "start_date"),
]
#: What the error line says besides the setting's name, where the name alone is not the point.
SAYS = {
    "shard_index-past-shard_count": "shard_count is 2",
    "shard_count-zero": "at least 1",
    "shard_index-negative": "at least 0",
    "start_date-a-typo": "'2205-01-01' (",
    "start_date-an-hour-ahead": "later than now",
}


def _config(url: str, overrides: dict[str, Any]) -> dict[str, Any]:
    config = login_config(url, [101, 102])
    for name, value in overrides.items():
        if value is DROP:
            config.pop(name, None)
        else:
            config[name] = value
    return config


@pytest.mark.parametrize(
    ("overrides", "setting", "says"),
    [
        pytest.param(over, setting, SAYS.get(name, ""), id=name)
        for name, over, setting in BAD_CONFIGS
    ],
)
def test_bad_config_exits_before_any_request_naming_the_setting(
    make_sim, tap, overrides, setting, says
):
    sim = make_sim(tasks=2, cases=(30, 20))
    config = _config(sim.url, overrides)

    runs = tap.run_at_levels(config, extra_secrets=[str(NUMERIC_SECRET), URL_PASSWORD])

    assert sim.stats()["total_requests"] == 0, "a request was sent despite the bad config"
    assert_refused(runs, f"Invalid setting '{setting}", says)


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
    assert run.exit_code == 2
    assert sim.stats()["total_requests"] == 0


def test_a_bad_sdk_setting_is_named_by_the_sdk(make_sim, tap):
    sim = make_sim(tasks=1, cases=1)
    run = tap.run(login_config(sim.url, [101], flattening_max_depth="deep"))
    assert run.exit_code != 0
    assert "Traceback" not in run.stderr
    assert any("config['flattening_max_depth']" in line for line in run.error_lines)
    assert sim.stats()["total_requests"] == 0


def test_number_settings_from_environment_variables_are_accepted(make_sim, tap):
    sim = make_sim(tasks=1, cases=10)
    config = login_config(sim.url, [101], request_timeout=30, backoff_factor=0.5)
    run = tap.run(config, config_in_env=True)
    assert run.exit_code == 0, run.error_lines
    assert len(run.records) == 10
