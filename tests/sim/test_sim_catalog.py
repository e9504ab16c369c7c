"""The task and project endpoints: items, pagination, filters, errors, faults, added tasks."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from centaur_sim import Simulator
from tests.harness import LIST as RESULTS
from tests.harness import SimFactory
from tests.sim.helpers import NewSession, Walk

TASKS = "/tasks/public/v1/list"
PROJECTS = "/projects/public/v1/list"
TASK_FIELDS = [
    "task_id",
    "task_name",
    "project_id",
    "project_name",
    "task_type",
    "created_at",
    "case_count",
]
PROJECT_FIELDS = ["project_id", "project_name", "created_at", "task_count"]
#: Five tasks in projects 7000 (101, 102), 7001 (103, 104), 7002 (105: type v1 does not serve).
FIVE = {"tasks": 5, "cases": (6, 5, 0, 8, 2), "unsupported_task_ids": (105,)}


@pytest.fixture
def five(make_sim: SimFactory) -> Simulator:
    return make_sim(**FIVE)


@pytest.fixture
def five_client(five: Simulator, new_session: NewSession) -> requests.Session:
    return new_session(five)


def _ids(items: list[dict[str, Any]], key: str = "task_id") -> list[int]:
    return [item[key] for item in items]


def _seqs(sim: Simulator, kind: str = "tasks") -> list[int]:
    """The hidden sequence ids (list cursors) of the tasks or projects, in list order."""
    rows = sim.store.task_rows if kind == "tasks" else sim.store.project_rows
    return [row.seq for row in rows]


def _projects(sim: Simulator, client: requests.Session) -> list[dict[str, Any]]:
    page = client.get(sim.url + PROJECTS, params={"limit": 1000}).json()
    assert "has_next" not in page
    items: list[dict[str, Any]] = page["payload"]
    return items


def test_task_items(five: Simulator, five_client: requests.Session) -> None:
    page = five_client.get(five.url + TASKS).json()
    assert list(page) == ["payload", "limit"]  # one page: no has_next, no cursor
    assert page["limit"] == 100
    items = page["payload"]
    assert items == five.tasks_truth()
    assert _ids(items) == [101, 102, 103, 104, 105]
    for item in items:
        assert list(item) == TASK_FIELDS
        assert isinstance(item["task_id"], int)
        assert isinstance(item["task_name"], str)
        assert str(item["task_id"]) in item["task_name"]
        assert item["created_at"].startswith("2024-")
        assert item["created_at"].endswith("+00:00")
    assert [i["project_id"] for i in items] == [7000, 7000, 7001, 7001, 7002]
    assert [i["case_count"] for i in items] == [6, 5, 0, 8, 2]
    assert [i["task_type"] for i in items] == ["choice", "choice", "box", "choice", "polygon"]
    created = [i["created_at"] for i in items]
    assert created == sorted(created)


def test_records_agree_with_the_task_and_project_lists(
    five: Simulator, five_client: requests.Session
) -> None:
    tasks = {t["task_id"]: t for t in five.tasks_truth()}
    projects = {p["project_id"]: p for p in _projects(five, five_client)}
    for record in five.truth():
        task = tasks[record["task_id"]]
        for field in ("task_name", "project_id", "project_name", "task_type"):
            assert record[field] == task[field]
        assert projects[record["project_id"]]["project_name"] == record["project_name"]
    for project in projects.values():
        members = [t for t in tasks.values() if t["project_id"] == project["project_id"]]
        assert project["task_count"] == len(members)


def test_task_walk_returns_every_task_once(
    make_sim: SimFactory, new_session: NewSession, walk: Walk
) -> None:
    sim = make_sim(tasks=11, cases=1)
    items, pages = walk(new_session(sim), sim.url, path=TASKS, limit=3)
    assert _ids(items) == list(range(101, 112))
    seqs = _seqs(sim)
    assert seqs == sorted(set(seqs))  # strictly increasing
    assert len(pages) == 4
    assert [p["last_sequence_id"] for p in pages[:-1]] == [seqs[i] for i in (2, 5, 8)]
    assert all(p["has_next"] is True and p["limit"] == 3 for p in pages[:-1])
    assert pages[-1] == {"payload": pages[-1]["payload"], "limit": 3}


def test_catalog_paging_follows_the_page_settings(
    make_sim: SimFactory, new_session: NewSession, walk: Walk
) -> None:
    sim = make_sim(tasks=6, cases=1, page_size=4, max_limit=5)
    s = new_session(sim)
    first = s.get(sim.url + TASKS).json()
    assert (len(first["payload"]), first["limit"], first["has_next"]) == (4, 4, True)
    r = s.get(sim.url + TASKS, params={"limit": 6})
    assert (r.status_code, r.json()) == (400, {"message": "Invalid parameter"})
    sim.set(last_page_style="false")
    _, pages = walk(s, sim.url, path=TASKS, limit=4)
    assert pages[-1] == {"payload": pages[-1]["payload"], "has_next": False, "limit": 4}
    items, pages = walk(s, sim.url, path=PROJECTS, limit=2)
    assert [len(p["payload"]) for p in pages] == [2, 1]
    assert _ids(items, "project_id") == [7000, 7001, 7002]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (TASKS, {"limit": "0"}),
        (TASKS, {"limit": "1001"}),
        (TASKS, {"limit": "x"}),
        (TASKS, {"limit": ""}),
        (TASKS, {"last_sequence_id": "-1"}),
        (TASKS, {"project_id": "abc"}),
        (TASKS, {"project_id": ""}),
        (PROJECTS, {"limit": "-3"}),
        (PROJECTS, {"last_sequence_id": "z"}),
    ],
)
def test_bad_parameters_are_400(
    sim: Simulator, client: requests.Session, path: str, params: dict[str, str]
) -> None:
    r = client.get(sim.url + path, params=params)
    assert (r.status_code, r.json()) == (400, {"message": "Invalid parameter"})


def test_cursor_past_the_end_and_between_tasks(
    five: Simulator, five_client: requests.Session
) -> None:
    seqs = _seqs(five)
    r = five_client.get(five.url + TASKS, params={"last_sequence_id": seqs[-1]})
    assert r.json() == {"payload": [], "limit": 100}
    r = five_client.get(five.url + TASKS, params={"last_sequence_id": seqs[2] - 1})
    assert _ids(r.json()["payload"]) == [103, 104, 105]  # any cursor in [seqs[1], seqs[2])
    r = five_client.get(five.url + TASKS, params={"last_sequence_id": 0})
    assert len(r.json()["payload"]) == 5


def test_project_filter(five: Simulator, five_client: requests.Session, walk: Walk) -> None:
    items, _ = walk(five_client, five.url, path=TASKS, project_id=7001, limit=1)
    assert _ids(items) == [103, 104]
    assert items == five.tasks_truth(7001)
    unsupported, _ = walk(five_client, five.url, path=TASKS, project_id=7002)
    assert _ids(unsupported) == [105]
    r = five_client.get(five.url + TASKS, params={"project_id": 99})
    assert (r.status_code, r.json()) == (200, {"payload": [], "limit": 100})


def test_unsupported_tasks_are_listed(five: Simulator, five_client: requests.Session) -> None:
    listed = five_client.get(five.url + TASKS).json()["payload"]
    assert (listed[-1]["task_id"], listed[-1]["task_type"]) == (105, "polygon")
    assert five_client.get(five.url + RESULTS, params={"task_id": 105}).status_code == 426


def test_project_items_and_walk(five: Simulator, five_client: requests.Session, walk: Walk) -> None:
    items, pages = walk(five_client, five.url, path=PROJECTS, limit=2)
    assert items == _projects(five, five_client)
    assert [list(item) for item in items] == [PROJECT_FIELDS] * 3
    assert [(p["project_id"], p["task_count"]) for p in items] == [(7000, 2), (7001, 2), (7002, 1)]
    assert items[0]["project_name"] == "Simulated project 7000"
    seqs = _seqs(five, "projects")
    assert seqs == sorted(set(seqs))
    assert pages[0]["last_sequence_id"] == seqs[1]
    assert items[0]["created_at"] == five.tasks_truth()[0]["created_at"]


def test_added_tasks_are_listed_last(
    five: Simulator, five_client: requests.Session, walk: Walk
) -> None:
    before, _ = walk(five_client, five.url, path=TASKS, limit=5)
    old_cursor = _seqs(five)[-1]
    assert _ids(before) == [101, 102, 103, 104, 105]
    default = five.add_task(cases=3, at=1_900_000_000)  # the 6th task: joins project 7002
    below = five.add_task(task_id=50, name="Late arrival", project_id=7000, unsupported=True)
    fresh = five.add_task(project_id=8123)  # an unknown project is created
    assert (default, below, fresh) == (106, 50, 107)
    items, _ = walk(five_client, five.url, path=TASKS, limit=2)
    assert _ids(items) == [101, 102, 103, 104, 105, 106, 50, 107]  # list order, not id order
    assert [i["project_id"] for i in items[5:]] == [7002, 7000, 8123]
    assert items[5]["created_at"] == "2030-03-17T17:46:40+00:00"
    assert items[5]["case_count"] == 3
    assert items[6]["task_type"] == "polygon"
    seqs = _seqs(five)
    assert seqs == sorted(set(seqs))
    r = five_client.get(five.url + TASKS, params={"last_sequence_id": old_cursor})
    assert _ids(r.json()["payload"]) == [106, 50, 107]  # a resumed walk sees only the new ones
    projects = {p["project_id"]: p for p in _projects(five, five_client)}
    assert [projects[p]["task_count"] for p in (7000, 7002, 8123)] == [3, 2, 1]
    assert projects[8123]["project_name"] == "Simulated project 8123"
    assert list(projects)[-1] == 8123
    assert {r["project_id"] for r in five.truth(50)} == set()  # no cases
    five.add_cases(50, 2)
    assert {(r["project_id"], r["project_name"]) for r in five.truth(50)} == {
        (7000, "Simulated project 7000")
    }
    assert five.tasks_truth(7000)[-1]["case_count"] == 2


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (TASKS, {}),
        (TASKS, {"project_id": 7000}),
        (PROJECTS, {}),
    ],
)
def test_catalog_needs_api_key_and_token(
    sim: Simulator, new_session: NewSession, path: str, params: dict[str, int]
) -> None:
    no_token = new_session(sim, login=False)
    assert no_token.get(sim.url + path, params=params).status_code == 401
    no_key = new_session(sim)
    del no_key.headers["X-API-KEY"]
    assert no_key.get(sim.url + path, params=params).status_code == 401
    assert new_session(sim).get(sim.url + path, params=params).status_code == 200
    assert new_session(sim).post(sim.url + path, params=params).status_code == 405


def test_faults_without_a_path_hit_the_catalog(sim: Simulator, client: requests.Session) -> None:
    sim.set(retry_after=0)
    sim.script_faults([{"kind": "429"}, {"kind": "500"}, {"kind": "503"}, {"kind": "502"}])
    assert client.get(sim.url + TASKS).status_code == 429
    assert client.get(sim.url + PROJECTS).status_code == 500
    assert client.get(sim.url + TASKS, params={"project_id": 7000}).status_code == 503
    assert client.get(sim.url + PROJECTS).status_code == 502
    assert client.get(sim.url + TASKS).status_code == 200
    assert sim.stats()["faults"] == {"429": 1, "500": 1, "503": 1, "502": 1}


def test_faults_by_path_and_task_id(sim: Simulator, client: requests.Session) -> None:
    sim.script_faults(
        [
            {"kind": "503", "path": PROJECTS},
            {"kind": "500", "path": "/tasks/"},
            {"kind": "502", "task_id": 102},
        ]
    )
    assert client.get(sim.url + RESULTS, params={"task_id": 101}).status_code == 200
    assert client.get(sim.url + PROJECTS).status_code == 503
    assert client.get(sim.url + TASKS, params={"task_id": 102}).status_code == 500
    assert client.get(sim.url + TASKS).status_code == 200  # the 502 wants task 102
    assert client.get(sim.url + RESULTS, params={"task_id": 102}).status_code == 502
    assert sim.pending_faults()["script"] == []


def test_transport_faults_on_the_catalog(sim: Simulator, client: requests.Session) -> None:
    sim.script_faults([{"kind": "reset"}, {"kind": "truncate"}, {"kind": "html200"}])
    with pytest.raises(requests.ConnectionError):
        client.get(sim.url + TASKS)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        client.get(sim.url + TASKS)
    r = client.get(sim.url + TASKS)
    assert (r.status_code, r.headers["Content-Type"]) == (200, "text/html; charset=utf-8")
    assert client.get(sim.url + TASKS).json()["payload"] == sim.tasks_truth()
    assert sim.stats()["requests"][TASKS] == {"reset": 1, "200": 3}


def test_random_faults_hit_the_catalog(sim: Simulator, client: requests.Session) -> None:
    sim.set_fault_rates({"503": 1.0})
    for path in (TASKS, PROJECTS):
        assert client.get(sim.url + path).status_code == 503
    sim.clear_faults()
    assert client.get(sim.url + PROJECTS).status_code == 200


def test_stats_count_catalog_items_apart_from_records(
    sim: Simulator, client: requests.Session
) -> None:
    client.get(sim.url + TASKS, params={"limit": 2})
    client.get(sim.url + PROJECTS, params={"limit": 1})
    client.get(sim.url + TASKS, params={"limit": 0})
    stats = sim.stats()
    assert (stats["records_served"], stats["catalog_items_served"]) == (0, 3)
    assert stats["requests"][TASKS] == {"200": 1, "400": 1}


def test_control_endpoints(five: Simulator, five_client: requests.Session) -> None:
    def get(path: str, **params: Any) -> Any:
        return requests.get(five.url + "/_sim/" + path, params=params, timeout=5).json()

    def post(path: str, body: dict[str, Any]) -> requests.Response:
        return requests.post(five.url + "/_sim/" + path, json=body, timeout=5)

    assert get("tasks") == five.tasks_truth()
    assert _ids(get("tasks", project_id=7001)) == [103, 104]
    r = post("task", {"cases": 2, "project_id": 7777, "name": "Via HTTP", "at": 1_900_000_000})
    assert r.json() == {"task_id": 106}
    assert get("tasks", project_id=7777)[0]["created_at"] == "2030-03-17T17:46:40+00:00"
    assert post("task", {"project_id": 0}).status_code == 400
    assert post("task", {"color": "red"}).status_code == 400
    listed = five_client.get(five.url + PROJECTS).json()["payload"]
    assert _ids(listed, "project_id")[-1] == 7777
