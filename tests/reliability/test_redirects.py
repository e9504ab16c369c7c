"""Scenario 8, redirects: one to another origin, on the login, a results page or a list, is one
ERROR line naming that origin (not its path or query) and api_url, and it gets no request. A
same-origin redirect is followed; a loop or an unparsable target is one clear line."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import LIST, LOGIN, assert_one_clear_error, login_config, premature_bookmarks
from tests.reliability import SIM, TASKS, assert_refused

STATUSES = (301, 302, 303, 307, 308)
#: Path and query of the redirect's target: never to be printed.
TARGET_PATH = "/collect/b7f3e1"
TARGET_QUERY = "session=q9z2&next=%2Fresults"


pytestmark = pytest.mark.usefixtures("no_tap_thread_outlives_the_test")


#: Where the redirect is answered; on page 2, task 101's first page is served without a Date
#: (no bookmark either way).
PLACES: dict[str, list[dict[str, Any]]] = {
    "login": [{"path": LOGIN}],
    "results page 2": [
        {"kind": "no_date", "path": LIST, "task_id": 101},
        {"path": LIST, "task_id": 101},
    ],
    "task list": [{"path": "/tasks/"}],
    "project list": [{"path": "/projects/"}],
}


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("place", PLACES)
def test_a_redirect_to_another_origin_sends_it_nothing(make_sim, tap, figures, place, status):
    level = "DEBUG" if status in {301, 303, 308} else "INFO"  # each place at both levels
    sim = make_sim(**SIM)
    other = make_sim(tasks=1, cases=1, record_requests=True)
    # Every time, as a misconfigured proxy or load balancer would.
    location = f"{other.url}{TARGET_PATH}?{TARGET_QUERY}"
    redirect = {"kind": "redirect", "status": status, "location": location, "count": 1000}
    sim.script_faults([f if "kind" in f else {**redirect, **f} for f in PLACES[place]])
    result = tap.run(login_config(sim.url, TASKS, page_size=20), log_level=level)

    assert other.requests() == [], f"the other origin received {other.requests()}"
    assert sim.stats()["faults"].get("redirect"), "the redirect was never served"
    line = assert_one_clear_error(
        result,
        f"HTTP {status}",
        f"another origin ({other.url})",
        f"api_url ({sim.url})",
        traceback_allowed=level == "DEBUG",
    )
    assert len(result.error_lines) == 1 and "Unexpected error" not in line, result.error_lines
    for secret_part in (TARGET_PATH, "session=", "q9z2"):
        assert secret_part not in result.stderr, f"the target's {secret_part} logged"
    assert premature_bookmarks(result, {task: sim.keys(task) for task in TASKS}) == []
    figures.update(exit_code=result.exit_code, records_before_the_redirect=len(result.keys))


SAME_ORIGIN = [
    *[pytest.param("results page 2", status, id=f"results-{status}") for status in STATUSES],
    pytest.param("login", 307, id="login-307"),
    pytest.param("login", 308, id="login-308"),
]


@pytest.mark.parametrize(("place", "status"), SAME_ORIGIN)
def test_a_redirect_within_the_api_origin_is_followed_and_loses_nothing(
    make_sim, tap, place, status
):
    sim = make_sim(**SIM, record_requests=True)
    # Once, back to the request itself: the simulator's default location, or absolute (login).
    login = {"path": LOGIN, "location": f"{sim.url}{LOGIN}"}
    where = login if place == "login" else {"path": LIST, "task_id": 101}
    sim.script_faults([{"kind": "redirect", "status": status, **where}])
    run = tap.run(login_config(sim.url, TASKS, page_size=20))
    assert run.exit_code == 0, run.stderr[-3000:]
    assert sim.stats()["faults"] == {"redirect": 1}
    assert set(run.keys) == sim.keys() and len(run.keys) == len(sim.keys())
    followed = [r for r in sim.requests() if r["path"] == (LOGIN if place == "login" else LIST)]
    assert all(r["headers"].get("x-api-key") for r in followed), "the API key was dropped"


UNPARSABLE = ("http://127.0.0.1:99999/x", "http://[::1/x", "http://h:ab/")
LOOP = ("redirect loop", "api_url")
BAD_REDIRECTS = [
    pytest.param({"path": LOGIN}, LOOP, id="loop-on-login"),
    pytest.param({"path": LIST, "task_id": 102}, LOOP, id="loop-on-results"),
    *[
        pytest.param(
            {"path": LIST, "task_id": 102, "status": 302, "location": location},
            ("task 102", "HTTP 302", "cannot be parsed", "api_url"),
            id=f"to-{location}",
        )
        for location in UNPARSABLE
    ],
]


@pytest.mark.parametrize(("redirect", "fragments"), BAD_REDIRECTS)
def test_a_redirect_loop_or_an_unparsable_target_is_one_clear_line(
    make_sim, tap, redirect, fragments
):
    sim = make_sim(**SIM)
    sim.script_faults([{"kind": "redirect", "status": 307, "count": 1000, **redirect}])
    run = tap.run(login_config(sim.url, TASKS, page_size=20))
    line = assert_one_clear_error(run, *fragments)
    assert "Unexpected error" not in line and "TooManyRedirects" not in line
    assert "Retrying" not in run.stderr, "a bad redirect was retried"


@pytest.mark.parametrize(
    "api_url", ["http://api.centaurlabs.com", "http://10.20.30.40:8080", "HTTP://Example.org/v1"]
)
def test_plain_http_to_a_host_that_is_not_loopback_is_refused_before_any_request(
    make_sim, tap, monkeypatch, api_url
):
    proxy = make_sim(tasks=1, cases=1, record_requests=True)  # would see any request sent
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    runs = tap.run_at_levels(login_config(api_url, TASKS), env={"HTTP_PROXY": proxy.url})
    assert proxy.requests() == [], "a request left despite the bad api_url"
    assert_refused(runs, "Invalid setting 'api_url'", "clear text")
