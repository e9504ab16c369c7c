"""Faithfulness to the documented API (CENTAUR_API.md) where the tap's tests, which read paging,
filters, single cases, token expiry, 404s and 426s against the simulator's truth, cannot see it:
auth, shapes, the last page's styles and the requests the tap never sends."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from centaur_sim import LABELING_STATES, Simulator
from tests.harness import LIST, LOGIN, USERNAME, SimFactory
from tests.sim.helpers import CREDS, KEY, PROJECTS, TASKS, V2_LIST, Client, login

CASE = ["task_id", "task_name", "project_id", "project_name", "case_id", "task_type"]
FIELDS = [*CASE, "patch", "labeling_state", "qualified_reads", "content_metadata", "agreement"]
FIELDS += ["difficulty", "correct_label", "majority_label", "read_stats", "counts"]
V2_FIELDS = [*CASE, "content_type", "labeling_state", "n_qualified_opinions", "results"]
BAD = (400, {"message": "Invalid parameter"})
UNAUTHORIZED = (401, {"message": "Unauthorized"})
LOGOUT = "/auth/public/v1/logout"


def _answer(r: requests.Response) -> tuple[int, Any]:
    return r.status_code, r.json()


def test_login_answers_the_documented_fields_and_logout_ends_the_token(sim: Simulator) -> None:
    """The tap's logout, once at the end of a run: tests/reliability/test_logout.py."""
    fields = ["token", "id", "email", "role", "name", "organization_id", "organization"]
    assert list(login(sim).json()) == [*fields, "created_at"]
    session = Client.logged_in(sim)
    assert _answer(session.call(LOGOUT, "POST")) == (200, {"message": "Logged out"})
    assert _answer(session.call(task_id=101)) == UNAUTHORIZED
    assert session.call(LOGOUT, "POST").status_code == 401


@pytest.mark.parametrize(
    ("headers", "body", "answer"),
    [
        (KEY, {**CREDS, "api_password": "nope"}, (401, "Invalid username or password")),
        (KEY, {**CREDS, "username": "x@example.com"}, (401, "Invalid username or password")),
        ({"X-API-KEY": "wrong"}, CREDS, (401, "Unauthorized")),
        ({}, CREDS, (401, "Unauthorized")),
        (KEY, {"username": USERNAME}, (400, "username and api_password are required")),
        (KEY, ["not", "an", "object"], (400, "username and api_password are required")),
        (KEY, None, (400, "Invalid request body")),
    ],
)
def test_login_failures(
    sim: Simulator, headers: dict[str, str], body: Any, answer: tuple[int, str]
) -> None:
    r = login(sim, body, headers=headers) if body else login(sim, None, data=b"{", headers=headers)
    assert (r.status_code, r.json()["message"]) == answer
    assert sim.stats()["logins"] == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        KEY,
        {"Authorization": "Bearer x"},
        {**KEY, "Authorization": "Bearer not-a-token"},
        {"X-API-KEY": "other", "Authorization": "Bearer tct-bearer-Hs5Ny0Pc2JuX"},
    ],
)
def test_data_needs_the_api_key_and_a_live_token(sim: Simulator, headers: dict[str, str]) -> None:
    for path in (LIST, V2_LIST, TASKS, PROJECTS):
        assert _answer(Client(sim, headers).call(path, task_id=101)) == UNAUTHORIZED


def test_records_have_the_documented_fields(make_sim: SimFactory) -> None:
    sim = make_sim(tasks=3, cases=30)
    choice, box = sim.truth(101), sim.truth(103)
    content = ["content_id", "origin", "origin_created_at", "series", "series_index"]
    for record in choice + box:
        assert list(record) == FIELDS
        assert record["labeling_state"] in LABELING_STATES
        assert all(list(item) == content for item in record["content_metadata"])
        assert 1 <= len(record["content_metadata"]) <= 3
        labelled = record["labeling_state"] in ("Labeled", "Gold Standard")
        assert (record["correct_label"] is not None) == labelled
    assert {r["task_type"] for r in choice} == {"choice"}
    assert {r["task_type"] for r in box} == {"box"}
    assert any(isinstance(r["correct_label"], list) for r in choice)
    assert any(str(r["correct_label"]).startswith("POLYGON((") for r in box)
    case_ids = [r["case_id"] for r in sim.truth()]
    assert len(case_ids) == len(set(case_ids)) == 90


@pytest.mark.parametrize(
    ("path", "style"), [(LIST, "absent"), (V2_LIST, "absent"), (LIST, "false")]
)
def test_pages_follow_the_sequence_ids(make_sim: SimFactory, path: str, style: str) -> None:
    sim = make_sim(tasks=3, cases=30, max_limit=200, last_page_style=style)
    client = Client(sim)
    records, pages = client.walk(path, task_id=102, limit=7)
    assert records == (sim.truth(102) if path == LIST else sim.truth_v2(102))
    seqs = [m["sequence_id"] for m in sim.truth_meta(102)]
    assert seqs == sorted(seqs)
    assert [p["last_sequence_id"] for p in pages[:-1]] == [seqs[i] for i in (6, 13, 20, 27)]
    assert all(p["has_next"] is True and p["limit"] == 7 for p in pages[:-1])
    last = {k: v for k, v in pages[-1].items() if k != "payload"}  # no cursor
    assert last == ({"limit": 7} if style == "absent" else {"has_next": False, "limit": 7})
    assert client.page(path, task_id=101)["limit"] == 100  # the default
    assert len(client.walk(path, task_id=101, limit=200)[1]) == 1


@pytest.mark.parametrize("path", [LIST, V2_LIST])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"task_id": "abc"},
        {"task_id": 101, "last_sequence_id": "x"},
        *({"task_id": 101, "limit": limit} for limit in ("0", "-1", "1001", "1.5", "")),
        *({"task_id": 101, "labeling_state": state} for state in ("Done", "labeled")),
        *({"task_id": 101, "updated_after": when} for when in ("x", "2024-13-01T00:00:00")),
        {"task_id": 101, "updated_after": "2024-01-01"},
    ],
)
def test_bad_parameters_are_400(client: Client, path: str, params: dict[str, Any]) -> None:
    assert _answer(client.call(path, **params)) == BAD


def test_unknown_paths_and_methods(sim: Simulator, client: Client) -> None:
    for path in ("/results/public/v9/list", "/nope", "/auth/public/v1/refreshToken"):
        assert _answer(client.call(path, task_id=101)) == (404, {"message": "Not Found"})
    assert client.call(LIST, "POST", task_id=101).status_code == 405
    assert requests.get(sim.url + LOGIN, timeout=5).status_code == 405


def test_updated_after_is_strict_and_sub_second(sim: Simulator, client: Client) -> None:
    changed = sim.update_cases(101, count=3, rng_seed=1, at=1_800_000_000.25)
    later = sim.update_cases(101, case_ids=[sim.truth(101)[0]["case_id"]], at=1_800_000_000.75)
    order = [m["case_id"] for m in sim.truth_meta(101)]
    both = sorted(set(changed) | set(later), key=order.index)

    def got(since: str, path: str = LIST) -> list[int]:
        return [r["case_id"] for r in client.walk(path, task_id=101, updated_after=since)[0]]

    assert got("2027-01-15T08:00:00") == both  # 1_800_000_000 is 08:00:00Z
    assert got("2027-01-15T08:00:00.250000") == got("2027-01-15T08:00:00.25Z") == later
    assert got("2027-01-15T08:00:00.249999+00:00") == got("2027-01-15T09:00:00+01:00") == both
    assert got("2027-01-15T08:00:00.7499999") == later
    assert got("2027-01-15T08:00:00.75") == []
    assert got("2027-01-15T08:00:00.5", V2_LIST) == later


def test_v2_items_have_the_inferred_shape_and_agree_with_v1(make_sim: SimFactory) -> None:
    sim = make_sim(tasks=3, cases=30, extra_fields=True)
    v1 = {r["case_id"]: r for r in sim.truth()}
    items = sim.truth_v2()
    assert [i["case_id"] for i in items] == list(v1)
    for item in items:
        record = v1[item["case_id"]]
        assert list(item)[: len(V2_FIELDS)] == V2_FIELDS
        assert {name: item[name] for name in CASE} == {name: record[name] for name in CASE}
        assert item["labeling_state"] == record["labeling_state"]
        assert item["n_qualified_opinions"] == record["qualified_reads"]
        contents = record["content_metadata"]
        assert [r["content_metadata"] for r in item["results"]] == [[c] for c in contents]
        for result in item["results"]:
            assert list(result) == ["content_id", "content_metadata", "prelabel", "labels"]
        votes = {label["label"]: label["votes"] for label in item["results"][0]["labels"]}
        assert votes == record["counts"]
    assert {i["content_type"] for i in items} == {"image", "dicom"}
    assert any(r["prelabel"] is not None for i in items for r in i["results"])
    # the undocumented review_notes: on every other task, in v1 only with extra_fields
    for task_id, notes in ((101, True), (102, False), (103, True)):
        assert all(("review_notes" in i) == notes for i in sim.truth_v2(task_id))
        assert all(("review_notes" in r) == notes for r in sim.truth(task_id))


def test_task_and_project_lists(make_sim: SimFactory) -> None:
    """The tap reads them in test_discovery.py; here their fields and refused parameters."""
    sim = make_sim(tasks=5, cases=(6, 5, 0, 8, 2), unsupported_task_ids=(105,))
    client = Client(sim)
    tasks, pages = client.walk(TASKS, limit=2)
    assert tasks == sim.tasks_truth() and len(pages) == 3
    fields = ["task_id", "task_name", "project_id", "project_name", "task_type", "created_at"]
    assert [list(t) for t in tasks] == [[*fields, "case_count"]] * 5
    assert [t["case_count"] for t in tasks] == [6, 5, 0, 8, 2]
    projects, _ = client.walk(PROJECTS)
    assert list(projects[0]) == ["project_id", "project_name", "created_at", "task_count"]
    assert {p["project_id"]: p["task_count"] for p in projects} == {7000: 2, 7001: 2, 7002: 1}
    for params in ({"limit": 0}, {"last_sequence_id": "x"}, {"project_id": "x"}):
        assert _answer(client.call(TASKS, **params)) == BAD
    assert sim.stats()["records_served"] == 0  # task and project items count apart
    assert sim.stats()["catalog_items_served"] > 0
