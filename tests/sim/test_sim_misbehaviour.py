"""Page-shape misbehaviours that a client's pagination guards must catch."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from centaur_sim import Simulator
from tests.harness import LIST, SimFactory
from tests.sim.helpers import NewSession, Walk


def _page(
    client: requests.Session,
    sim: Simulator,
    cursor: int | None = None,
    task_id: int = 101,
    limit: int = 10,
) -> dict[str, Any]:
    params: dict[str, int] = {"task_id": task_id, "limit": limit}
    if cursor is not None:
        params["last_sequence_id"] = cursor
    r = client.get(sim.url + LIST, params=params)
    assert r.status_code == 200
    page: dict[str, Any] = r.json()
    return page


def test_payload_not_list(sim: Simulator, client: requests.Session) -> None:
    sim.set_misbehaviour(101, "payload_not_list")
    page = _page(client, sim)
    assert isinstance(page["payload"], dict)
    assert len(page["payload"]["cases"]) == 10
    assert isinstance(_page(client, sim, task_id=102)["payload"], list)  # other tasks unaffected


def test_has_next_not_bool(sim: Simulator, client: requests.Session) -> None:
    sim.set_misbehaviour(101, "has_next_not_bool")
    assert _page(client, sim)["has_next"] == "yes"
    assert sim.stats()["misbehaviours"] == {"has_next_not_bool": 1}


def test_cursor_backwards(sim: Simulator, client: requests.Session) -> None:
    sim.set_misbehaviour(101, "cursor_backwards")
    first = _page(client, sim)
    second = _page(client, sim, first["last_sequence_id"])
    assert second["has_next"] is True
    assert second["last_sequence_id"] < first["last_sequence_id"]


def test_cursor_repeat(sim: Simulator, client: requests.Session) -> None:
    sim.set_misbehaviour(101, "cursor_repeat")
    first = _page(client, sim)
    second = _page(client, sim, first["last_sequence_id"])
    assert second["last_sequence_id"] == first["last_sequence_id"]
    assert second["payload"] != first["payload"]


def test_cursor_cycle(sim: Simulator, client: requests.Session) -> None:
    sim.set_misbehaviour(101, "cursor_cycle")
    a = _page(client, sim)["last_sequence_id"]
    b = _page(client, sim, a)["last_sequence_id"]
    back = _page(client, sim, b)
    assert b > a
    assert (back["has_next"], back["last_sequence_id"]) == (True, a)


def test_has_next_without_cursor(sim: Simulator, client: requests.Session) -> None:
    sim.set_misbehaviour(101, "has_next_without_cursor")
    page = _page(client, sim)
    assert page["has_next"] is True
    assert "last_sequence_id" not in page


def test_missing_case_id(sim: Simulator, client: requests.Session, walk: Walk) -> None:
    sim.set_misbehaviour(101, "missing_case_id")
    records, _ = walk(client, sim.url, task_id=101, limit=10)
    assert sum("case_id" not in r for r in records) == 1
    assert "case_id" not in records[0]


def test_missing_labeling_state(sim: Simulator, client: requests.Session, walk: Walk) -> None:
    sim.set_misbehaviour(101, "missing_labeling_state")
    records, _ = walk(client, sim.url, task_id=101, limit=10)
    assert sum("labeling_state" not in r for r in records) == 1
    assert "labeling_state" not in records[0]


def test_wrong_types(sim: Simulator, client: requests.Session) -> None:
    sim.set_misbehaviour(101, "wrong_types")
    first = _page(client, sim)["payload"][0]
    assert (first["case_id"], first["qualified_reads"]) == ("abc", "x")


def test_odd_labels_and_wrong_nested_type(sim: Simulator, client: requests.Session) -> None:
    sim.set_misbehaviour(101, "odd_labels")
    first = _page(client, sim)["payload"][0]
    assert (first["correct_label"], first["majority_label"]) == (
        {"class": "Nodule", "score": 0.9},
        3,
    )
    sim.set_misbehaviour(101, "wrong_nested_type")
    assert _page(client, sim)["payload"][0]["read_stats"]["total_reads"] == "12"


def test_empty_pages_keep_moving_forward(
    make_sim: SimFactory, new_session: NewSession, walk: Walk
) -> None:
    sim = make_sim(tasks=3, cases=30)
    client = new_session(sim)
    sim.set_misbehaviour(101, "empty_pages")
    records, pages = walk(client, sim.url, task_id=101, limit=10)
    assert records == sim.truth(101)
    assert [len(p["payload"]) for p in pages] == [0, 10, 0, 10, 0, 10]
    cursors = [p["last_sequence_id"] for p in pages[:-1]]
    assert cursors == sorted(set(cursors))
    assert all(p["has_next"] is True for p in pages[:-1])


def test_has_next_false_with_cursor(sim: Simulator, client: requests.Session, walk: Walk) -> None:
    sim.set_misbehaviour(101, "has_next_false_with_cursor")
    _, pages = walk(client, sim.url, task_id=101, limit=10)
    last = pages[-1]
    assert last["has_next"] is False
    assert last["last_sequence_id"] == sim.truth_meta(101)[-1]["sequence_id"]


def test_clearing_and_bad_kinds(sim: Simulator, client: requests.Session) -> None:
    sim.set_misbehaviour(101, "has_next_not_bool")
    sim.set_misbehaviour(101, None)
    assert _page(client, sim)["has_next"] is True
    with pytest.raises(ValueError, match="misbehaviour must be"):
        sim.set_misbehaviour(101, "chaos")
    with pytest.raises(KeyError):
        sim.set_misbehaviour(999, "cursor_repeat")
    assert sim.stats()["misbehaviours"] == {}
