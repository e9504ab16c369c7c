"""`--about` describes the settings in valid JSON Schema; `--test` checks the connection cleanly."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.harness import assert_one_clear_error, login_config
from tests.harness.in_process import run_in_process


def test_about_prints_a_valid_draft_7_schema_with_bounds_formats_enums_and_secrets():
    about = run_in_process(["--about", "--format=json"], {})
    assert about.exit_code == 0, about.stderr
    schema = json.loads(about.stdout)["settings"]
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    properties = schema["properties"]
    parallel = properties["max_parallel_tasks"]["anyOf"][0]
    assert parallel == {"type": ["integer"], "minimum": 1, "maximum": 32}
    assert properties["page_size"]["anyOf"][0] == {"type": ["integer"], "minimum": 1}
    assert properties["lookback_seconds"]["default"] == 300
    validator = jsonschema.Draft7Validator(schema)
    good: list[dict[str, object]] = [{"max_parallel_tasks": 8}, {"max_parallel_tasks": "8"}]
    bad: list[dict[str, object]] = [{"max_parallel_tasks": 33}, {"request_timeout": 0}]
    bad.append({"max_parallel_tasks": "eight"})
    for config in good + bad:  # "8": from the environment
        assert validator.is_valid({"api_key": "k", **config}) == (config in good), config
    assert {"type": ["string"], "format": "date-time"} in properties["start_date"]["anyOf"]
    assert {"type": ["string"], "format": "date"} in properties["start_date"]["anyOf"]
    assert properties["username"]["format"] == "email"
    states = properties["labeling_state"]["anyOf"][0]["enum"]
    assert states == ["Ready", "Active", "Labeled", "Gold Standard", "Canceled", "Flagged"]
    for name in ("api_key", "api_password", "bearer_token"):
        assert properties[name]["secret"] is True
        assert properties[name]["writeOnly"] is True
    assert "null" not in json.dumps(properties["labeling_state"]["anyOf"]).replace(
        '"type": "null"', ""
    )


def test_a_successful_connection_check_logs_no_error(sim, tap):
    run = tap.run(login_config(sim.url, [101, 102]), args=("--test",))
    assert run.exit_code == 0, run.stderr
    assert run.error_lines == []


@pytest.mark.parametrize(
    ("api_url", "cause"),
    [
        pytest.param("http://127.0.0.1:9", "Connection refused", id="refused"),
        pytest.param("https://no-such-host.invalid", "no-such-host.invalid", id="unknown-host"),
    ],
)
def test_an_unreachable_api_fails_the_check_after_few_retries_naming_it(tap, api_url, cause):
    """A scheduled sync retries 8 times over minutes; the check gives up within seconds."""
    run = tap.run(login_config(api_url, [101]), args=("--test",))
    host = api_url.split("//", 1)[1].split(":")[0]
    assert_one_clear_error(run, cause, host, "Check api_url")
    assert (run.exit_code, len(run.error_lines)) == (1, 1)
    assert run.retries <= 2  # not the sync's 8
