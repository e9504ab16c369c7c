"""The results endpoints: records, pagination, filters and parameter errors (v1 and v2)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from centaur_sim import LABELING_STATES, Simulator
from tests.harness import LIST, SimFactory, sim_config
from tests.sim.helpers import CASE_FIELDS, NewSession, Walk

GET = "/results/public/v1/get"
V2_LIST = "/results/public/v2/list"
FIELDS = [
    *CASE_FIELDS,
    "patch",
    "labeling_state",
    "qualified_reads",
    "content_metadata",
    "agreement",
    "difficulty",
    "correct_label",
    "majority_label",
    "read_stats",
    "counts",
]


def test_records_have_the_documented_fields(make_sim: SimFactory, new_session: NewSession) -> None:
    sim = make_sim(tasks=3, cases=30)
    client = new_session(sim)
    records = client.get(sim.url + LIST, params={"task_id": 101}).json()["payload"]
    choice = sim.truth(101)
    box = sim.truth(103)
    assert records == choice
    for record in choice + box:
        assert list(record) == FIELDS
        assert record["labeling_state"] in LABELING_STATES
        assert 1 <= len(record["content_metadata"]) <= 3
        for item in record["content_metadata"]:
            assert set(item) == {
                "content_id",
                "origin",
                "origin_created_at",
                "series",
                "series_index",
            }
            assert item["origin_created_at"].endswith("+00:00")
        labelled = record["labeling_state"] in ("Labeled", "Gold Standard")
        assert (record["correct_label"] is not None) == labelled
    assert {r["task_type"] for r in choice} == {"choice"}
    assert {r["task_type"] for r in box} == {"box"}
    assert any(isinstance(r["correct_label"], list) for r in choice)
    assert any(str(r["correct_label"]).startswith("POLYGON((") for r in box)
    all_ids = [r["case_id"] for r in sim.truth()]
    assert len(all_ids) == len(set(all_ids)) == 90


def test_same_seed_same_data() -> None:
    config = sim_config(cases=20)
    assert Simulator(config).truth() == Simulator(sim_config(cases=20)).truth()
    assert Simulator(sim_config(cases=20, seed=1)).truth() != Simulator(config).truth()


def test_walk_returns_every_case_once_in_sequence_order(
    make_sim: SimFactory, new_session: NewSession, walk: Walk
) -> None:
    sim = make_sim(tasks=3, cases=30)
    client = new_session(sim)
    records, pages = walk(client, sim.url, task_id=102, limit=7)
    meta = sim.truth_meta(102)
    assert [r["case_id"] for r in records] == [m["case_id"] for m in meta]
    seqs = [m["sequence_id"] for m in meta]
    assert seqs == sorted(seqs)
    assert len(pages) == 5  # 30 cases / 7
    assert [p["last_sequence_id"] for p in pages[:-1]] == [seqs[i] for i in (6, 13, 20, 27)]
    assert all(p["has_next"] is True and p["limit"] == 7 for p in pages[:-1])
    assert pages[-1] == {"payload": pages[-1]["payload"], "limit": 7}  # no has_next, no cursor


def test_default_and_maximum_limit(
    make_sim: SimFactory, new_session: NewSession, walk: Walk
) -> None:
    sim = make_sim(tasks=1, cases=250, max_limit=200)
    s = new_session(sim)
    first = s.get(sim.url + LIST, params={"task_id": 101}).json()
    assert (len(first["payload"]), first["limit"]) == (100, 100)
    records, pages = walk(s, sim.url, task_id=101, limit=200)
    assert len(records) == 250
    assert len(pages) == 2


@pytest.mark.parametrize("limit", ["0", "-1", "201", "abc", "1.5", ""])
def test_limit_out_of_range_is_400(
    make_sim: SimFactory, new_session: NewSession, limit: str
) -> None:
    sim = make_sim(max_limit=200)
    params: dict[str, str | int] = {"task_id": 101, "limit": limit}
    r = new_session(sim).get(sim.url + LIST, params=params)
    assert (r.status_code, r.json()) == (400, {"message": "Invalid parameter"})


@pytest.mark.parametrize("path", [LIST, V2_LIST], ids=["v1", "v2"])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"task_id": "abc"},
        {"task_id": "x"},
        {"task_id": 101, "last_sequence_id": "x"},
        {"task_id": 101, "limit": 1001},
        {"task_id": 101, "labeling_state": "Done"},
        {"task_id": 101, "labeling_state": "labeled"},
        {"task_id": 101, "labeling_state": "x"},
        {"task_id": 101, "updated_after": "yesterday"},
        {"task_id": 101, "updated_after": "2024-13-01T00:00:00"},
        {"task_id": 101, "updated_after": "2024-01-01"},
    ],
)
def test_bad_parameters_are_400(
    sim: Simulator, client: requests.Session, path: str, params: dict[str, Any]
) -> None:
    r = client.get(sim.url + path, params=params)
    assert (r.status_code, r.json()) == (400, {"message": "Invalid parameter"})


def test_last_page_style_false(make_sim: SimFactory, new_session: NewSession, walk: Walk) -> None:
    sim = make_sim(last_page_style="false")
    _, pages = walk(new_session(sim), sim.url, task_id=101, limit=20)
    assert pages[-1]["has_next"] is False
    assert "last_sequence_id" not in pages[-1]


def test_cursor_zero_happens(make_sim: SimFactory, new_session: NewSession) -> None:
    sim = make_sim(first_sequence_id=0)
    s = new_session(sim)
    page = s.get(sim.url + LIST, params={"task_id": 101, "limit": 1}).json()
    assert page["last_sequence_id"] == 0
    nxt = s.get(sim.url + LIST, params={"task_id": 101, "limit": 1, "last_sequence_id": 0})
    assert nxt.json()["payload"][0]["case_id"] == sim.truth(101)[1]["case_id"]


def test_labeling_state_filter(sim: Simulator, client: requests.Session, walk: Walk) -> None:
    for state in ("Labeled", "Gold Standard"):
        records, _ = walk(client, sim.url, task_id=101, labeling_state=state, limit=3)
        expected = [r for r in sim.truth(101) if r["labeling_state"] == state]
        assert expected
        assert records == expected


def test_updated_after_is_strict_and_sub_second(
    sim: Simulator, client: requests.Session, walk: Walk
) -> None:
    changed = sim.update_cases(101, count=3, rng_seed=1, at=1_800_000_000.25)
    later = sim.update_cases(101, case_ids=[sim.truth(101)[0]["case_id"]], at=1_800_000_000.75)

    def got(since: str) -> list[int]:
        return [r["case_id"] for r in walk(client, sim.url, task_id=101, updated_after=since)[0]]

    both = sorted(set(changed) | set(later), key=_order(sim))
    assert got("2027-01-15T08:00:00") == both  # 1_800_000_000 is 08:00:00Z
    assert got("2027-01-15T08:00:00.250000") == later  # strictly after
    assert got("2027-01-15T08:00:00.25Z") == later
    assert got("2027-01-15T08:00:00.249999+00:00") == both
    assert got("2027-01-15T09:00:00+01:00") == both
    assert got("2027-01-15T08:00:00.7499999") == later
    assert got("2027-01-15T08:00:00.75") == []
    row = next(r for r in sim.truth_meta(101) if r["case_id"] == later[0])
    assert row["updated_at_iso"] == "2027-01-15T08:00:00.750000+00:00"


def test_update_time_defaults_to_now(sim: Simulator) -> None:
    before = time.time()
    changed = sim.update_cases(102, count=2, rng_seed=4)
    after = time.time()
    rows = [r for r in sim.truth_meta(102) if r["case_id"] in changed]
    assert len(rows) == 2
    assert all(before - 1e-6 <= r["updated_at"] <= after + 1e-6 for r in rows)


def _order(sim: Simulator) -> Callable[[int], int]:
    seq = {m["case_id"]: m["sequence_id"] for m in sim.truth_meta()}
    return lambda case_id: seq[case_id]


def test_updated_at_is_not_in_records_by_default(sim: Simulator) -> None:
    assert all("updated_at" not in r for r in sim.truth())


def test_update_changes_values(sim: Simulator) -> None:
    before = {r["case_id"]: r for r in sim.truth(102)}
    meta_before = {m["case_id"]: m for m in sim.truth_meta(102)}
    changed = sim.update_cases(102, count=5, rng_seed=7, at=1_900_000_000.5)
    assert len(changed) == 5
    for row in sim.truth_meta(102):
        if row["case_id"] in changed:
            assert row["updated_at"] == 1_900_000_000.5
            assert row["sequence_id"] == meta_before[row["case_id"]]["sequence_id"]
    for record in sim.truth(102):
        old = before[record["case_id"]]
        if record["case_id"] in changed:
            assert record["qualified_reads"] == old["qualified_reads"] + 1
        else:
            assert record == old


def test_add_cases_get_larger_sequence_ids(
    sim: Simulator, client: requests.Session, walk: Walk
) -> None:
    old_max = max(m["sequence_id"] for m in sim.truth_meta())
    added = sim.add_cases(101, 4)
    rows = [m for m in sim.truth_meta(101) if m["case_id"] in added]
    assert len(rows) == 4
    assert min(r["sequence_id"] for r in rows) > old_max
    records, _ = walk(client, sim.url, task_id=101, limit=10)
    assert [r["case_id"] for r in records][-4:] == added


def test_set_labeling_state(sim: Simulator) -> None:
    case_id = sim.truth(101)[0]["case_id"]
    sim.set_labeling_state(101, case_id, "Canceled", at=1_900_000_001.0)
    record = sim.truth(101)[0]
    assert (record["labeling_state"], record["correct_label"]) == ("Canceled", None)
    sim.set_labeling_state(101, case_id, "Gold Standard")
    assert sim.truth(101)[0]["correct_label"] is not None
    with pytest.raises(ValueError, match="labeling state"):
        sim.set_labeling_state(101, case_id, "Done")


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_get_one_case(make_sim: SimFactory, new_session: NewSession, version: str) -> None:
    """A case of the task, in the version's shape; 404 for a case the task does not hold."""
    sim = make_sim(tasks=3, cases=30)
    client = new_session(sim)
    url = sim.url + f"/results/public/{version}/get"
    truth = sim.truth(103) if version == "v1" else sim.truth_v2(103)
    for record in truth[4:6]:
        r = client.get(url, params={"task_id": 103, "case_id": record["case_id"]})
        assert (r.status_code, r.json()) == (200, record)
    r = client.get(url, params={"task_id": 103, "case_id": 1})
    assert (r.status_code, r.json()) == (404, {"message": "Not Found"})


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (LIST, {"task_id": 999}),
        (GET, {"task_id": 999, "case_id": 1}),
        (GET, {"task_id": 101, "case_id": 1}),
        ("/results/public/v9/list", {"task_id": 101}),
        ("/nope", {}),
    ],
)
def test_not_found(
    sim: Simulator, client: requests.Session, path: str, params: dict[str, Any]
) -> None:
    r = client.get(sim.url + path, params=params)
    assert (r.status_code, r.json()) == (404, {"message": "Not Found"})


def test_case_of_another_task_is_not_found(sim: Simulator, client: requests.Session) -> None:
    case_id = sim.truth(102)[0]["case_id"]
    r = client.get(sim.url + GET, params={"task_id": 101, "case_id": case_id})
    assert r.status_code == 404


def test_unsupported_task_type_is_426(make_sim: SimFactory, new_session: NewSession) -> None:
    sim = make_sim(unsupported_task_ids=(102,))
    s = new_session(sim)
    text = "Task type not supported by this API version, please use /results/public/v2/"
    for path, params in ((LIST, {"task_id": 102}), (GET, {"task_id": 102, "case_id": 1})):
        r = s.get(sim.url + path, params=params)
        assert (r.status_code, r.text) == (426, text + path.rsplit("/", 1)[1] + ".")
        assert r.headers["Content-Type"].startswith("text/plain")
    assert sim.truth(102)[0]["task_type"] == "polygon"
    assert sim.add_task(cases=2, unsupported=True) == 104
    assert s.get(sim.url + LIST, params={"task_id": 104}).status_code == 426


def test_extra_fields_on_some_tasks(make_sim: SimFactory, new_session: NewSession) -> None:
    sim = make_sim(tasks=3, cases=30, extra_fields=True)
    s = new_session(sim)
    first = s.get(sim.url + LIST, params={"task_id": 101}).json()["payload"]
    second = s.get(sim.url + LIST, params={"task_id": 102}).json()["payload"]
    assert first == sim.truth(101)
    assert all(isinstance(r["review_notes"], str) for r in first)
    assert all("review_notes" not in r for r in second)


def test_add_task(sim: Simulator, client: requests.Session) -> None:
    task_id = sim.add_task(task_id=500, cases=3, task_type="box", name="Mine")
    records = client.get(sim.url + LIST, params={"task_id": task_id}).json()["payload"]
    assert [r["task_name"] for r in records] == ["Mine"] * 3
    with pytest.raises(ValueError, match="taken"):
        sim.add_task(task_id=500)


def test_wrong_method_is_405(sim: Simulator, client: requests.Session) -> None:
    assert client.post(sim.url + LIST, params={"task_id": 101}).status_code == 405
    assert requests.get(sim.url + "/auth/public/v1/login", timeout=5).status_code == 405
