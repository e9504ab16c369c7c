"""Results v2: every task in the inferred v2 shape, paged, filtered and faulted like v1.

Its GET and parameter errors are checked with v1's, in test_sim_results.py.
"""

from __future__ import annotations

import base64

import requests

from centaur_sim import Simulator
from tests.harness import SimFactory
from tests.sim.helpers import CASE_FIELDS, KEY_HEADER, NewSession, Walk

V1_LIST, V1_GET = "/results/public/v1/list", "/results/public/v1/get"
LIST, GET = "/results/public/v2/list", "/results/public/v2/get"
TOP = [
    *CASE_FIELDS,
    "content_type",
    "labeling_state",
    "n_qualified_opinions",
    "results",
]


def test_items_have_the_inferred_shape_and_agree_with_v1(sim: Simulator) -> None:
    v1 = {r["case_id"]: r for r in sim.truth()}
    items = sim.truth_v2()
    assert [i["case_id"] for i in items] == list(v1)
    for item in items:
        record = v1[item["case_id"]]
        assert list(item)[: len(TOP)] == TOP
        for name in ("task_id", "task_name", "project_id", "project_name", "task_type"):
            assert item[name] == record[name]
        assert item["labeling_state"] == record["labeling_state"]
        assert item["n_qualified_opinions"] == record["qualified_reads"]
        assert item["content_type"] in ("image", "dicom")
        contents = record["content_metadata"]
        assert [r["content_id"] for r in item["results"]] == [c["content_id"] for c in contents]
        for result in item["results"]:
            assert list(result) == ["content_id", "content_metadata", "prelabel", "labels"]
            assert result["content_metadata"][0]["content_id"] == result["content_id"]
            assert result["prelabel"] is None or isinstance(result["prelabel"], dict)
        votes = {label["label"]: label["votes"] for label in item["results"][0]["labels"]}
        assert votes == record["counts"]
    assert {i["content_type"] for i in items} == {"image", "dicom"}
    assert any(r["prelabel"] is not None for i in items for r in i["results"])


def test_every_other_task_has_an_undocumented_field(make_sim: SimFactory) -> None:
    sim = make_sim(tasks=3, cases=30)
    assert all(isinstance(i["review_notes"], str) for i in sim.truth_v2(101))
    assert all("review_notes" not in i for i in sim.truth_v2(102))
    assert all(isinstance(i["review_notes"], str) for i in sim.truth_v2(103))
    assert all("review_notes" not in r for r in sim.truth())  # v1 is unchanged


def test_v2_list_walks_like_v1(make_sim: SimFactory, new_session: NewSession, walk: Walk) -> None:
    sim = make_sim(tasks=3, cases=30)
    client = new_session(sim)
    items, pages = walk(client, sim.url, path=LIST, task_id=102, limit=7, verbose="true")
    _, v1_pages = walk(client, sim.url, task_id=102, limit=7)
    assert items == sim.truth_v2(102)
    assert [{k: v for k, v in p.items() if k != "payload"} for p in pages] == [
        {k: v for k, v in p.items() if k != "payload"} for p in v1_pages
    ]
    assert pages[-1] == {"payload": pages[-1]["payload"], "limit": 7}
    assert sim.stats()["records_served"] == 60


def test_v2_filters_follow_the_stored_cases(
    sim: Simulator, client: requests.Session, walk: Walk
) -> None:
    changed = sim.update_cases(101, count=4, rng_seed=2, at=2_000_000_000.5)
    items, _ = walk(client, sim.url, path=LIST, task_id=101, updated_after="2033-05-18T03:33:20")
    assert [i["case_id"] for i in items] == changed
    by_id = {i["case_id"]: i for i in sim.truth_v2(101)}
    assert items == [by_id[c] for c in changed]
    state = sim.truth(101)[0]["labeling_state"]
    items, _ = walk(client, sim.url, path=LIST, task_id=101, labeling_state=state, limit=3)
    assert items == [i for i in sim.truth_v2(101) if i["labeling_state"] == state]


def test_v2_only_tasks(make_sim: SimFactory, new_session: NewSession, walk: Walk) -> None:
    sim = make_sim(unsupported_task_ids=(102,))
    s = new_session(sim)
    text = "Task type not supported by this API version, please use /results/public/v2/"
    case_id = sim.truth(102)[0]["case_id"]
    r = s.get(sim.url + V1_LIST, params={"task_id": 102})
    assert (r.status_code, r.text) == (426, text + "list.")
    r = s.get(sim.url + V1_GET, params={"task_id": 102, "case_id": case_id})
    assert (r.status_code, r.text) == (426, text + "get.")
    items, _ = walk(s, sim.url, path=LIST, task_id=102, limit=10)
    assert items == sim.truth_v2(102)
    assert {i["task_type"] for i in items} == {"polygon"}
    r = s.get(sim.url + GET, params={"task_id": 102, "case_id": case_id})
    assert r.json() == items[0]
    added = sim.add_task(cases=3, unsupported=True)
    assert s.get(sim.url + V1_LIST, params={"task_id": added}).status_code == 426
    assert len(s.get(sim.url + LIST, params={"task_id": added}).json()["payload"]) == 3


def test_auth_and_faults_apply_to_v2(sim: Simulator, client: requests.Session) -> None:
    r = requests.get(sim.url + LIST, params={"task_id": 101}, headers=KEY_HEADER, timeout=5)
    assert r.status_code == 401
    sim.script_faults([{"kind": "503"}, {"kind": "500", "path": "/results/public/v2/"}])
    assert client.get(sim.url + LIST, params={"task_id": 101}).status_code == 503
    assert client.get(sim.url + V1_LIST, params={"task_id": 101}).status_code == 200
    assert client.get(sim.url + GET, params={"task_id": 101, "case_id": 1}).status_code == 500


def test_misbehaviours_apply_to_v2_pages(make_sim: SimFactory, new_session: NewSession) -> None:
    sim = make_sim(tasks=3, cases=30)
    client = new_session(sim)
    sim.set_misbehaviour(101, "wrong_types")
    first = client.get(sim.url + LIST, params={"task_id": 101}).json()["payload"][0]
    assert (first["case_id"], first["n_qualified_opinions"]) == ("abc", "x")
    sim.set_misbehaviour(101, "payload_not_list")
    page = client.get(sim.url + LIST, params={"task_id": 101}).json()
    assert page["payload"]["cases"] == sim.truth_v2(101)
    assert sim.stats()["misbehaviours"] == {"wrong_types": 1, "payload_not_list": 1}


def test_v2_shape_misbehaviour(make_sim: SimFactory, new_session: NewSession) -> None:
    sim = make_sim(tasks=3, cases=30)
    client = new_session(sim)
    sim.set_misbehaviour(101, "v2_shape")
    page = client.get(sim.url + LIST, params={"task_id": 101, "limit": 10}).json()
    assert set(page) == {"results", "next"}
    assert page["results"] == sim.truth_v2(101)[:10]
    assert isinstance(page["next"], str)
    assert str(sim.truth_meta(101)[9]["sequence_id"]) not in page["next"]  # opaque
    assert base64.urlsafe_b64decode(page["next"])
    last = client.get(sim.url + LIST, params={"task_id": 101, "limit": 100}).json()
    assert last == {"results": sim.truth_v2(101), "next": None}
    v1 = client.get(sim.url + V1_LIST, params={"task_id": 101, "limit": 10}).json()
    assert v1["payload"] == sim.truth(101)[:10]  # v1 keeps its shape
    assert sim.stats()["misbehaviours"] == {"v2_shape": 2}


def test_v2_truth_over_http(sim: Simulator) -> None:
    url = sim.url + "/_sim/truth"
    assert requests.get(url, params={"api": "v2"}, timeout=5).json() == sim.truth_v2()
    params: dict[str, str | int] = {"api": "v2", "task_id": 102}
    one = requests.get(url, params=params, timeout=5).json()
    assert one == sim.truth_v2(102)
    assert requests.get(url, params={"api": "v1"}, timeout=5).json() == sim.truth()
    assert requests.get(url, params={"api": "v3"}, timeout=5).status_code == 400


def test_v2_items_follow_updates(sim: Simulator) -> None:
    case_id = sim.truth(101)[0]["case_id"]
    before = sim.truth_v2(101)[0]
    sim.set_labeling_state(101, case_id, "Flagged")
    sim.update_cases(101, case_ids=[case_id])
    after = sim.truth_v2(101)[0]
    assert after["labeling_state"] == sim.truth(101)[0]["labeling_state"]
    assert after["n_qualified_opinions"] == before["n_qualified_opinions"] + 1
