"""Scenarios 6 and 14: the paths most likely to leak a secret, and the check itself (the
harness checks every run for every secret, `tests/harness/checks.py`); server text in log
lines can neither forge a line nor flood the log."""

from __future__ import annotations

import json
import re
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
from tests.reliability import answer


def test_login_expiry_revocation_retries_and_a_fatal_error_leak_nothing(make_sim, tap):
    """Settings in environment variables, as Meltano may pass them (a config file: the soak)."""
    sim = make_sim(tasks=3, cases=(200, 150, 100), page_size=25, token_expiry_requests=4)
    faults = (("401", 101), ("429", 102), ("truncate", 102), ("403", 103))
    sim.script_faults(
        [{"kind": "503", "path": LOGIN}]
        + [{"kind": kind, "path": LIST, "task_id": task} for kind, task in faults]
    )
    config = login_config(sim.url, (101, 102, 103))
    run = tap.run(config, log_level="DEBUG", config_in_env=True)
    assert run.exit_code != 0 and "| DEBUG" in run.stderr and run.retries >= 3  # 403: task 103
    assert len(sim.issued_tokens) >= 5, "tokens were not renewed: the path was not exercised"
    assert {(r["task_id"]) for r in run.records} == {101, 102}


#: A key with characters that JSON (`/` as `\\/`) and URL encoding (`%2F`, `%2B`) change.
SLASHED_KEY = "tct/apikey+Q7x2=Vd9Lm4Kf/Ja8"
#: Error bodies that echo the API key, in every form: the excerpt shown is the body's start, or
#: its `message`, cut at 300 characters (a field of a page: at 40), which the key straddles.
ECHOES = {
    "after-a-long-prefix": (500, "<html>" + "x" * 55 + " key={api_key} " + "y" * 300),
    "in-a-long-message": (403, '{"message": "' + "z" * 290 + ' key {api_key}"}'),
    "json-escaped": (403, '{"error": "denied", "request": {"x-api-key": "{api_key_json}"}}'),
    "url-encoded": (502, "Blocked: GET /results?api_key={api_key_url}&task_id=102"),
    # URL-encoded keeping `/` (Python's quote()), in lower-case hex (.NET's UrlEncode).
    "url-encoded-keeping-slashes": (502, f"Blocked: GET /k/{quote(SLASHED_KEY)}"),
    "url-encoded-lower-case-hex": (502, f"Blocked: GET /k?key={lower_hex(SLASHED_KEY)}"),
    "in-a-field-of-a-page": (200, '{"payload": [], "has_next": "' + "x" * 20 + '{api_key}"}'),
}


@pytest.mark.parametrize("echo", ECHOES, ids=list(ECHOES))
def test_an_error_body_echoing_the_api_key_prints_no_part_of_it(make_sim, tap, echo):
    """Each form of the key is masked before the excerpt is cut (checked at INFO and DEBUG)."""
    status, body = ECHOES[echo]
    sim = make_sim(tasks=3, cases=(30, 30, 30), api_key=SLASHED_KEY)
    sim.script_faults([answer(status, body)])
    config = login_config(sim.url, (101, 102, 103), api_key=SLASHED_KEY, max_retries=1)
    for level, run in tap.run_at_levels(config).items():
        assert_one_clear_error(run, "task 102", f"{status}", traceback_allowed=level == "DEBUG")
        assert "********" in run.error_lines[-1], "the key was not in the excerpt: no test"
        assert {task for task, _ in run.keys} == {101, 103}


@pytest.mark.parametrize("setting", ["api_key", "api_password", "bearer_token", "username"])
def test_whitespace_around_a_credential_is_stripped(make_sim, tap, setting):
    """A newline (from a Kubernetes secret volume, `echo > file`) never reaches a header."""
    sim = make_sim(tasks=1, cases=10)
    config = (bearer_config if setting == "bearer_token" else login_config)(sim.url, [101])
    config[setting] = f" \t{config[setting]}\r\n"
    run = tap.run(config, log_level="DEBUG")
    assert run.exit_code == 0 and len(run.records) == 10, run.error_lines


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
    run = Run(0, text if place == "stdout" else "", text if place == "stderr" else "")
    run.state_file = tmp_path / "state.json"
    run.state_file.write_text(json.dumps({"note": text if place == "state" else "-"}))
    with pytest.raises(AssertionError, match="leaked into"):
        assert_no_secrets(run, [secret])


FORGED = "2026-12-06 20:00:00,000 | INFO     | tap-centaur | Sync completed: 0 tasks failed"
HOSTILE = f"denied\n{FORGED}\n\x1b[2J\x1b[H\u2028\u202e"
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \| (DEBUG|INFO|WARNING|ERROR) ")


def test_server_text_cannot_forge_or_garble_a_log_line(make_sim, tap):
    sim = make_sim(tasks=3, cases=(30, 30, 30), page_size=10)
    hostile_task = sim.add_task(cases=5, unsupported=True, name=HOSTILE + "x" * 5000)
    sim.script_faults(
        [
            answer(403, {"message": HOSTILE}, count=2),  # one per run: INFO, DEBUG
            answer(503, reason=f"Busy\r{FORGED}\x1b[2K", task_id=103),
        ]
    )
    config = login_config(sim.url, (), max_retries=1)
    del config["task_ids"]  # the task list is read first: the hostile name is known at the 426
    for level, run in tap.run_at_levels(config).items():
        assert run.exit_code == 1, run.stderr[-3000:]
        for character in ("\x1b", "\r", "\u2028", "\u202e"):
            assert character not in run.stderr, f"{level}: {character!r} reached the log"
        lines = run.stderr.splitlines()
        assert not [line for line in lines if line.startswith(FORGED[:23])], level
        if level == "INFO":
            assert [line for line in lines if not LOG_LINE.match(line)] == []
        shown = "\\n" + FORGED  # the server's text is there, escaped: the test is not empty
        assert shown in run.error_lines[-1] and f"Busy\\r{FORGED[:40]}" in run.error_lines[-1]
        assert f"task {hostile_task} ('denied\\n{FORGED}" in run.stderr
        assert {task for task, _ in run.keys} == {101}  # the hostile task is read by v2


def test_a_flood_of_server_text_is_cut_and_counted(make_sim, tap, figures):
    """20 tasks answer 403 with a message of 1 MiB each (42 MB of stderr before issue 19)."""
    tasks = 20
    sim = make_sim(tasks=tasks, cases=1)
    body = json.dumps({"message": "flood " * (2**20 // 6)})
    sim.script_faults([answer(403, body, count=tasks, task_id=None)])
    run = tap.run(login_config(sim.url, sim.task_ids()))
    summary = run.error_lines[-1]
    assert f"{tasks} tasks failed" in summary, summary[:300]
    longest = max(len(line) for line in run.stderr.splitlines())
    figures.update(
        server_text_bytes=tasks * len(body), stderr_bytes=len(run.stderr), longest_line=longest
    )
    assert len(run.stderr) < 64 * 1024, f"{len(run.stderr):,} bytes of stderr"
    assert longest < 4096, f"a line of {longest:,} characters"
    assert re.search(r"; and 15 more \(see the warnings above\)$", summary), summary[-300:]


def test_a_header_line_the_http_library_cannot_parse_is_cut_without_a_traceback(make_sim, tap):
    """urllib3 logs such a line whole, with a traceback, at WARNING (a reason phrase with CRLF)."""
    sim = make_sim(tasks=2, cases=(5, 5))
    bad_line = "no colon here " + "x" * 60_000
    sim.script_faults([answer(503, reason=f"Busy\r\n{bad_line}", count=2)])
    config = login_config(sim.url, (101, 102), max_retries=0, request_timeout=1)
    for level, run in tap.run_at_levels(config).items():  # the answer never ends (no headers)
        quoting = [line for line in run.stderr.splitlines() if "no colon here" in line]
        assert any("Failed to parse headers" in line for line in quoting)  # not an empty test
        assert max(map(len, quoting)) < 1000, level  # the traceback's lines too, at DEBUG
        assert_one_clear_error(
            run, "task 102", "request_timeout", traceback_allowed=level == "DEBUG"
        )
