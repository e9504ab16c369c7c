"""Scenario 6, secrets: the paths most likely to leak, at DEBUG, and the check itself.

The harness checks every run of the suite for every secret (`tests/harness/checks.py`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.harness import (
    API_KEY,
    API_PASSWORD,
    LIST,
    LOGIN,
    STATIC_TOKEN,
    Run,
    assert_no_secrets,
    assert_one_clear_error,
    bearer_config,
    login_config,
    lower_hex,
)


def test_login_expiry_revocation_retries_and_a_fatal_error_leak_nothing(make_sim, tap):
    """Settings in environment variables, as Meltano may pass them (a config file: the soak)."""
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
    run = tap.run(config, log_level="DEBUG", config_in_env=True)
    assert run.exit_code != 0  # the 403 on task 103
    assert "| DEBUG" in run.stderr
    assert run.retries >= 3
    assert len(sim.issued_tokens) >= 5, "tokens were not renewed: the path was not exercised"
    assert {(r["task_id"]) for r in run.records} == {101, 102}


#: A key with characters that JSON (`/` as `\\/`) and URL encoding (`%2F`, `%2B`) change.
SLASHED_KEY = "tct/apikey+Q7x2=Vd9Lm4Kf/Ja8"
#: Error bodies that echo the API key: after a prefix longer than any excerpt, JSON-escaped
#: outside the `message` field (the excerpt shown is the body's start), URL-encoded.
ECHOES = {
    # The excerpts of old cut bodies at 80 characters and messages not at all; now both are
    # cut at 300 characters: the key straddles each cut.
    "after-a-long-prefix": (500, "<html>" + "x" * 55 + " key={api_key} " + "y" * 300),
    "in-a-long-message": (403, '{"message": "' + "z" * 290 + ' key {api_key}"}'),
    "json-escaped": (403, '{"error": "denied", "request": {"x-api-key": "{api_key_json}"}}'),
    "url-encoded": (502, "Blocked: GET /results?api_key={api_key_url}&task_id=102"),
    # URL-encoded as Python's quote() does by default (`/` kept), and with lower-case hex
    # digits (as .NET's UrlEncode writes them).
    "url-encoded-keeping-slashes": (502, f"Blocked: GET /k/{quote(SLASHED_KEY)}"),
    "url-encoded-lower-case-hex": (502, f"Blocked: GET /k?key={lower_hex(SLASHED_KEY)}"),
    # A field of the wrong type is quoted in 40 characters: the key straddles that cut.
    "in-a-field-of-a-page": (200, '{"payload": [], "has_next": "' + "x" * 20 + '{api_key}"}'),
}


@pytest.mark.parametrize("echo", ECHOES, ids=list(ECHOES))
def test_an_error_body_echoing_the_api_key_prints_no_part_of_it(make_sim, tap, echo):
    """Each form of the key is masked before the excerpt is cut (checked at INFO and DEBUG)."""
    status, body = ECHOES[echo]
    sim = make_sim(tasks=3, cases=(30, 30, 30), api_key=SLASHED_KEY)
    sim.script_faults([{"kind": "answer", "status": status, "body": body, "count": 99,
                        "path": LIST, "task_id": 102}])  # fmt: skip
    config = login_config(sim.url, (101, 102, 103), api_key=SLASHED_KEY, max_retries=1)
    for level, run in tap.run_at_levels(config).items():
        assert_one_clear_error(run, "task 102", f"{status}", traceback_allowed=level == "DEBUG")
        assert "********" in run.error_lines[-1], "the key was not in the excerpt: no test"
        assert {task for task, _ in run.keys} == {101, 103}


@pytest.mark.parametrize("setting", ["api_key", "api_password", "bearer_token", "username"])
def test_whitespace_around_a_credential_is_stripped(make_sim, tap, setting):
    """A newline (from a Kubernetes secret volume, `echo > file`) never reaches a header."""
    sim = make_sim(tasks=1, cases=10)
    config = (
        bearer_config(sim.url, [101]) if setting == "bearer_token" else login_config(sim.url, [101])
    )
    config[setting] = f" \t{config[setting]}\r\n"
    run = tap.run(config, log_level="DEBUG")
    assert run.exit_code == 0, run.error_lines
    assert len(run.records) == 10


#: (secret, how it is printed): each must be caught.
LEAKS: dict[str, tuple[str, Callable[[str], str]]] = {
    "api_key": (API_KEY, str),
    "api_password": (API_PASSWORD, str),
    "bearer_token": (STATIC_TOKEN, str),
    "repr-escaped": (API_KEY + "\n", repr),
    "part": (API_PASSWORD, lambda secret: secret[3:15]),
    "json-escaped": (SLASHED_KEY, lambda secret: json.dumps(secret).replace("/", "\\/")),
    "url-encoded": (SLASHED_KEY, lambda secret: quote(secret, safe="")),
    "url-encoded-keeping-slashes": (SLASHED_KEY, quote),
    "url-encoded-lower-case-hex": (SLASHED_KEY, lower_hex),
}


@pytest.mark.parametrize("place", ["stdout", "stderr", "state"])
@pytest.mark.parametrize("leak", LEAKS)
def test_the_check_catches_a_leak(tmp_path: Path, place: str, leak: str):
    secret, shown = LEAKS[leak]
    text = shown(secret)
    state = {"bookmarks": {"note": text if place == "state" else "-"}}
    run = Run(
        exit_code=0,
        stdout=text if place == "stdout" else "",
        stderr=text if place == "stderr" else "",
    )
    run.state_file = tmp_path / "state.json"
    run.state_file.write_text(json.dumps(state))
    with pytest.raises(AssertionError, match="leaked into"):
        assert_no_secrets(run, [secret])
