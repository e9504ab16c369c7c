"""Error paths the reliability scenarios do not run: Retry-After honoured, a 400 and 404s as one
clear line (each transient fault retried: tests/reliability/test_fault_soak.py)."""

from __future__ import annotations

import pytest
import requests

from tap_centaur.client import check_status
from tap_centaur.errors import CentaurAPIError
from tap_centaur.pages import request_label
from tests.harness import (
    LIST,
    THREE_TASKS,
    assert_one_clear_error,
    login_config,
    partition_bookmarks,
)


@pytest.mark.parametrize(
    ("style", "waits"),
    [("seconds", ("2.0",)), ("http-date", ("1.0", "2.0"))],  # a date: whole seconds
)
def test_retry_after_is_honoured(make_sim, tap, style, waits):
    """The server's 2 s, as seconds or as a date against its Date header, not the 0.01 s
    exponential backoff."""
    sim = make_sim(retry_after=2, retry_after_style=style, **THREE_TASKS)
    sim.script_faults([{"kind": "429", "count": 1, "path": LIST}])
    run = tap.run(login_config(sim.url, [102], backoff_factor=0.01))
    assert run.exit_code == 0, run.stderr
    retry = next(line for line in run.stderr.splitlines() if "Retrying (1 of 8) in" in line)
    assert any(f"in {s} s after: task 102 (first page): HTTP 429" in retry for s in waits), retry


def test_400_shows_the_server_message_and_parameters_and_a_traceback_only_at_debug(sim, tap):
    for level, run in tap.run_at_levels(login_config(sim.url, [101], page_size=5000)).items():
        last = assert_one_clear_error(
            run, "HTTP 400", "Invalid parameter", "Parameters sent", traceback_allowed=True
        )
        assert "'limit': '5000'" in last
        assert ("Traceback" in run.stderr) == (level == "DEBUG")
        assert partition_bookmarks(run.final_state) == {}


def test_404_for_an_unknown_case(sim, tap):
    config = login_config(sim.url, [103], case_ids=[{"task_id": 101, "case_id": 1}])
    assert_one_clear_error(tap.run(config), "task 101 (case_id=1)", "case not found")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("/results/public/v1/list?task_id=7", "task 7 not found or not visible"),
        ("/results/public/v2/get?task_id=7&case_id=9", "case not found or not visible"),
    ],
)
@pytest.mark.parametrize("base", ["https://api.example", "https://proxy.example/centaur"])
def test_a_404_names_the_task_or_case_also_under_an_api_url_with_a_path(base, url, says):
    """api_url is a base URL: one with a path (a proxy's prefix) gets the same advice."""
    response = requests.Response()
    response.status_code, response._content = 404, b'{"message": "Not found"}'
    response.request = requests.Request("GET", base + url).prepare()
    with pytest.raises(CentaurAPIError, match=says):
        check_status(response, request_label(response.request))
