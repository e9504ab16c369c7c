"""Scenario 5, bad responses: the server misbehaves on task 102 of 101-103 (or on the login)
beyond max_retries 2. At INFO and DEBUG: one last ERROR line naming the task and what was wrong,
no traceback at INFO, no STATE bookmarking the failing task, or any task before its records."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import (
    LIST,
    LOGIN,
    WRONG_PASSWORD,
    assert_one_clear_error,
    at_levels,
    bearer_config,
    login_config,
    partition_bookmarks,
    premature_bookmarks,
)
from tests.reliability import answer

TASKS = (101, 102, 103)
SIM = {"tasks": 3, "cases": (120, 160, 80), "page_size": 40, "spike_seconds": 2.0}


def fault(kind: str, count: int = 3) -> dict[str, Any]:
    return {"faults": [{"kind": kind, "count": count, "path": LIST, "task_id": 102}]}


def scripted(status: int, body: object, **where: Any) -> dict[str, Any]:
    return {"faults": [answer(status, body, **where)]}


def misbehave(kind: str) -> dict[str, Any]:
    return {"misbehaviour": kind}


#: What the line says when every answer was not JSON: what to check, not "try again later".
NOT_JSON = ("giving up after 3 attempts", "not JSON", "something other than", "check api_url")
LOGIN_401, LOGIN_403 = ("login", "401", "api_password"), ("login", "403", "allowed location")
#: What the line says of a token that cannot go in a header.
AT_LOGIN: dict[str, Any] = {"path": LOGIN, "task_id": None}
CARRY = ("login: the API answered 200 with a token that no HTTP header can carry",)
# (id, how the server misbehaves, what the ERROR line says besides the failing task (named when
# task 101 completes), whether task 101 completes)
CASES: list[tuple[str, dict[str, Any], tuple[str, ...], bool]] = [
    ("html-with-200", fault("html200"), (*NOT_JSON, "text/html"), True),
    ("empty-body", fault("empty200"), (*NOT_JSON, "0 bytes"), True),
    ("invalid-utf8", fault("bad_utf8"), NOT_JSON, True),
    ("500-persisting", fault("500"), ("HTTP 500", "giving up"), True),
    ("429-persisting", fault("429"), ("HTTP 429", "giving up"), True),
    ("truncated-body", fault("truncate"), ("truncated", "giving up"), True),
    ("connection-reset", fault("reset"), ("reset", "giving up"), True),
    ("timeout", fault("timeout"), ("request_timeout=1 s", "giving up"), True),
    ("payload-not-a-list", misbehave("payload_not_list"), ("'payload'",), True),
    ("has_next-not-bool", misbehave("has_next_not_bool"), ("'has_next'",), True),
    ("cursor-backwards", misbehave("cursor_backwards"), ("last_sequence_id",), True),
    ("cursor-repeated", misbehave("cursor_repeat"), ("last_sequence_id",), True),
    ("cursor-A-B-A", misbehave("cursor_cycle"), ("last_sequence_id",), True),
    ("has_next-no-cursor", misbehave("has_next_without_cursor"), ("no last_sequence_id",), True),
    ("record-without-case_id", misbehave("missing_case_id"), ("'case_id'",), True),
    ("wrong-field-types", misbehave("wrong_types"), ("'case_id'", "'abc'"), True),
    ("403-on-list", fault("403", 1), ("HTTP 403", "country"), True),
    (
        # v1 answers 426: results v2 answers in a shape of its own, quoted with what was expected.
        "v2-unexpected-shape",
        {"sim": {"unsupported_task_ids": (102,)}, "misbehaviour": "v2_shape"},
        ("task 102 (results v2", "results v2 answered 200", "'payload'", "Expected:"),
        True,
    ),
    ("404-unknown-task", {"task_ids": (101, 999, 103)}, ("not found",), True),
    ("401-bearer-rejected", {"auth": bearer_config, **fault("401", 1)}, ("401",), True),
    (
        # One worker, no other stream: another request meeting a revoked token (task 101's, the
        # projects stream's) would fail as well, and either might be named.
        "401-despite-fresh-logins",
        {**fault("401", 6), "config": {"max_parallel_tasks": 1}, "streams": ["task_results"]},
        ("401", "fresh token"),
        True,
    ),
    ("401-on-login", {"config": {"api_password": WRONG_PASSWORD}}, LOGIN_401, False),
    ("403-country-on-login", {"sim": {"restricted_country": True}}, LOGIN_403, False),
    (
        # A FastAPI-style 422 for a parameter the API refuses (here the page size): like 400.
        "422-bad-parameter",
        {"sim": {"bad_parameter_status": 422}, "config": {"page_size": 5000}},
        ("HTTP 422", "query.limit", "Parameters sent", "page_size"),
        False,
    ),
    (
        # A 422 whose `detail` is not FastAPI's list of {"loc": [...], "msg": ...}.
        "422-other-detail",
        scripted(422, {"detail": [{"loc": 5, "msg": "bad"}, "text", {"loc": "limit"}]}),
        ("HTTP 422: 5: bad; text; limit: None", "Parameters sent"),
        True,
    ),
    (
        # A second Content-Length contradicting the first (a broken proxy; a CRLF in the reason).
        "two-content-lengths",
        scripted(200, {"payload": []}, reason="OK\r\nContent-Length: 1"),
        ("Content-Length contained multiple unmatching values", "giving up"),
        True,
    ),
    # A login token that no Authorization header can carry (requests refuses to send it).
    ("login-token-newline", scripted(200, {"token": "tok\nen-Kq3w"}, **AT_LOGIN), CARRY, False),
    ("login-token-euro", scripted(200, {"token": "tok\u20acen-Kq3w"}, **AT_LOGIN), CARRY, False),
]


def _run(make_sim, tap, case, level):
    sim = make_sim(**{**SIM, **case.get("sim", {})})
    settings = {"page_size": 40, "max_retries": 2, "request_timeout": 1.0, **case.get("config", {})}
    config = case.get("auth", login_config)(sim.url, case.get("task_ids", TASKS), **settings)
    if "misbehaviour" in case:
        sim.set_misbehaviour(102, case["misbehaviour"])
    sim.script_faults(case.get("faults", []))
    streams = case.get("streams")
    args = ("--catalog", str(tap.catalog_selecting(config, streams))) if streams else ()
    try:
        return sim, tap.run(config, log_level=level, args=args, extra_secrets=[WRONG_PASSWORD])
    finally:
        sim.stop()


@pytest.mark.parametrize(
    ("case", "fragments", "first_task_completes"),
    [pytest.param(case, fragments, first, id=name) for name, case, fragments, first in CASES],
)
def test_bad_response_is_a_clear_error_and_skips_no_data(
    make_sim, tap, case, fragments, first_task_completes
):
    tasks = case.get("task_ids", TASKS)
    named = (f"task {tasks[1]}",) if first_task_completes else ()  # the failing task
    for level, (sim, run) in at_levels(lambda level: _run(make_sim, tap, case, level)).items():
        assert_one_clear_error(run, *named, *fragments, traceback_allowed=level == "DEBUG")
        bookmarked = {task for state in run.states for task, _ in partition_bookmarks(state)}
        assert tasks[1] not in bookmarked, f"{level}: a STATE bookmarks the failing task"
        others = {task: sim.keys(task) for task in tasks if task != tasks[1]}
        assert premature_bookmarks(run, others) == [], level
        if first_task_completes:
            assert (101, None) in partition_bookmarks(run.final_state), f"{level}: 101 unbookmarked"
            assert {k for k in run.keys if k[0] == 101} == sim.keys(101)
        else:
            assert not run.keys and not partition_bookmarks(run.final_state)


@pytest.mark.parametrize("parallelism", [1, 4, 32])
def test_401_after_every_login_makes_a_bounded_number_of_logins(
    make_sim, tap, figures, parallelism
):
    """Before issue 19: 4, 8 and 36 logins at 1, 4 and 32 workers; 3 renewals are documented."""
    sim = make_sim(tasks=40, cases=2, token_expiry_requests=0)
    config = login_config(sim.url, sim.task_ids(), max_parallel_tasks=parallelism)
    catalog = tap.catalog_selecting(config, ["task_results"])  # the workers, nothing before
    run = tap.run(config, args=("--catalog", str(catalog)))
    logins = sim.stats()["logins"]
    figures.update(parallelism=parallelism, logins=logins)
    assert_one_clear_error(run, "401 even with a fresh token", "3 logins in a row")
    assert logins == 4, f"{logins} logins at max_parallel_tasks={parallelism}"
