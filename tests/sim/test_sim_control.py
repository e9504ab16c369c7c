"""Changing the data, the /_sim/ control endpoints, the request record and the store cache."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import requests

from centaur_sim import Simulator
from centaur_sim.config import SimConfig
from centaur_sim.store import GENERATED_FROM, CaseStore, new_store
from tests.harness import API_KEY
from tests.sim.helpers import Client, login


def _post(sim: Simulator, path: str, body: object = None) -> requests.Response:
    return requests.post(sim.url + "/_sim/" + path, json=body or {}, timeout=5)


def _get(sim: Simulator, path: str, **params: Any) -> Any:
    return requests.get(sim.url + "/_sim/" + path, params=params, timeout=5).json()


def test_updates_additions_and_states(sim: Simulator, client: Client) -> None:
    """The tap's tests read what these change; here what they cannot see."""
    before = {r["case_id"]: r for r in sim.truth(102)}
    seqs = {m["case_id"]: m["sequence_id"] for m in sim.truth_meta(102)}
    changed = sim.update_cases(102, count=5, rng_seed=7, at=1_900_000_000.5)
    for row, record in zip(sim.truth_meta(102), sim.truth(102), strict=True):
        moved, old = row["case_id"] in changed, before[row["case_id"]]
        assert (row["updated_at"] == 1_900_000_000.5) == moved
        assert row["sequence_id"] == seqs[row["case_id"]]  # the sequence id stays
        if moved:
            assert record["qualified_reads"] == old["qualified_reads"] + 1
        else:
            assert record == old
    added = sim.add_cases(102, 2)
    assert min(r["sequence_id"] for r in sim.truth_meta(102)[-2:]) > max(seqs.values())
    sim.set_labeling_state(102, added[0], "Canceled")
    canceled = sim.truth(102)[-2]
    assert (canceled["labeling_state"], canceled["correct_label"]) == ("Canceled", None)
    sim.set_labeling_state(102, added[0], "Gold Standard")
    assert sim.truth(102)[-2]["correct_label"] is not None
    with pytest.raises(ValueError, match="labeling state"):
        sim.set_labeling_state(102, added[0], "Done")
    assert sim.add_task(task_id=500, cases=3, task_type="box", name="Mine") == 500
    assert [r["task_name"] for r in client.page(task_id=500)["payload"]] == ["Mine"] * 3
    with pytest.raises(ValueError, match="taken"):
        sim.add_task(task_id=500)


def test_control_endpoints(sim: Simulator, client: Client) -> None:
    """scripts/demo.py reads /_sim/truth; each POST is the `Simulator` method of its name."""
    assert _get(sim, "truth", task_id=102) == sim.truth(102)
    assert _get(sim, "truth", task_id=102, api="v2") == sim.truth_v2(102)
    assert len(_get(sim, "truth")) == 370
    assert _get(sim, "meta", task_id=102) == sim.truth_meta(102)
    assert _get(sim, "tasks", project_id=7000) == sim.tasks_truth(7000)
    body = {"task_id": 101, "count": 2, "rng_seed": 3, "at": 1_900_000_000}
    changed = _post(sim, "update", body).json()["case_ids"]
    assert {m["case_id"] for m in sim.truth_meta(101) if m["updated_at"] == 1.9e9} == set(changed)
    added = _post(sim, "add", {"task_id": 101, "count": 1}).json()["case_ids"]
    assert _post(sim, "state", {"task_id": 101, "case_id": added[0], "state": "Flagged"}).ok
    assert sim.truth(101)[-1]["labeling_state"] == "Flagged"
    assert _post(sim, "task", {"cases": 2, "unsupported": True}).json() == {"task_id": 104}
    pending = _post(sim, "faults", {"script": [{"kind": "503"}]}).json()
    assert pending["script"][0]["kind"] == "503" == str(client.call(task_id=101).status_code)
    _post(sim, "faults", {"rates": {"500": 1.0}, "seed": 1})  # at work: test_fault_soak.py
    assert client.call(task_id=101).status_code == 500
    assert login(sim).status_code == 200  # rates spare the login
    _post(sim, "faults", {"clear": True})
    assert _get(sim, "faults") == {"script": [], "rates": {}}
    _post(sim, "misbehaviour", {"task_id": 101, "kind": "has_next_not_bool"})
    assert client.page(task_id=101)["has_next"] == "yes"
    assert _post(sim, "settings", {"last_page_style": "false"}).json() == _get(sim, "config")
    assert sim.config.last_page_style == "false"
    assert _get(sim, "stats")["faults"] == {"503": 1, "500": 1}
    assert _post(sim, "reset-stats").ok and sim.stats()["faults"] == {}
    assert _post(sim, "expire-tokens").json() == {"expired": 1}  # the login's, not the static one
    assert requests.get(sim.url + "/_sim/nothing", timeout=5).status_code == 404
    assert requests.get(sim.url + "/_sim/update", timeout=5).status_code == 405
    assert requests.get(sim.url + "/_sim/truth?api=v3", timeout=5).status_code == 400


#: Fault script entries the simulator refuses, and what it says.
BAD_FAULTS = [
    ({"kind": "teapot"}, "fault kind"),
    ({"kind": "500", "count": 0}, "count"),
    ({"kind": "500", "body": "x"}, "answer faults only"),
    ({"kind": "500", "location": "/x"}, "redirect faults only"),
    ({"kind": "500", "size": 10}, "size"),
    ({"kind": "flood", "size": 0}, "size"),
    ({"kind": "redirect", "status": 200}, "redirect status"),
    ({"kind": "answer", "status": 600}, "status"),
    ({"kind": "500", "colour": "red"}, "unknown fault field"),
]
BAD_RATES = [{"500": 0.8, "503": 0.5}, {"stall": 0.1}, {"500": -1}]


@pytest.mark.parametrize(
    ("path", "body", "status", "says"),
    [
        ("settings", {"seed": 3}, 400, "seed"),  # not a runtime setting
        ("settings", {"max_limit": 5}, 400, "max_limit"),  # a startup one
        ("settings", {"page_size": 0}, 400, ""),
        ("settings", {"latency_ms": "1"}, 400, ""),
        ("settings", {"gzip": 1}, 400, ""),
        ("settings", {"static_token": None}, 200, ""),
        ("update", {"task_id": 999}, 404, ""),
        ("state", {"task_id": 101, "case_id": 1, "state": "Ready"}, 404, ""),
        ("update", {}, 400, ""),
        ("update", {"task_id": 101, "bogus": 1}, 400, "bogus"),
        ("update", [1], 400, ""),
        ("misbehaviour", {"task_id": 101, "kind": "nope"}, 400, "misbehaviour must be"),
        ("faults", {"bogus": 1}, 400, "bogus"),
        *(("faults", {"script": [spec]}, 400, says) for spec, says in BAD_FAULTS),
        *(("faults", {"rates": rates}, 400, "rate") for rates in BAD_RATES),
    ],
)
def test_control_errors(sim: Simulator, path: str, body: object, status: int, says: str) -> None:
    r = _post(sim, path, body)
    assert r.status_code == status and says in r.text, r.text


def test_the_request_record(sim: Simulator, client: Client) -> None:
    """Off by default; control calls not recorded; a copy, with lower-case header names."""
    client.call(task_id=101)
    sim.set(record_requests=True)
    _get(sim, "stats")
    client.post(sim.url + "/nowhere", params={"a": "b c"}, data=b"\xffhi", timeout=5)
    recorded = sim.requests()
    assert [(r["method"], r["path"], r["query"], r["body"]) for r in recorded] == [
        ("POST", "/nowhere", "a=b+c", "\ufffdhi")
    ]
    assert recorded[0]["headers"]["x-api-key"] == API_KEY
    recorded[0]["headers"].clear()
    assert _get(sim, "requests") == sim.requests() != recorded
    sim.reset_stats()
    assert sim.requests() == []


CONFIG = SimConfig(tasks=3, cases=(40, 25, 0), seed=7, unsupported_task_ids=(103,))


def _contents(store: CaseStore) -> list[Any]:
    """Everything a store serves and will generate next (its generators' states included)."""
    tasks = [(t.info, t.seq, t.created_s, t.unsupported, t.v2_notes) for t in store.task_rows]
    cases = [(c.case_id, c.seq, c.updated_us, c.body) for t in store.task_rows for c in t.cases]
    projects = [(p.project_id, p.seq, p.task_ids) for p in store.project_rows]
    counters = {k: v for k, v in vars(store).items() if k.startswith("_next")}
    generators = (store.rng.getstate(), store._catalog_rng.getstate())
    return [tasks, cases, projects, counters, generators]


def test_a_new_store_is_the_generated_one_and_a_copy_of_its_own() -> None:
    """Simulators share one generated store per layout (a pickle), each changing its own copy."""
    first = new_store(CONFIG)
    assert _contents(first) == _contents(CaseStore(CONFIG))
    first.tasks[102].cases[0].replace({"labeling_state": "changed"}, 2)
    first.add_task(count=3)
    second = new_store(CONFIG)
    assert _contents(second) == _contents(CaseStore(CONFIG)) != _contents(first)
    for change in ({"seed": 8}, {"cases": (40, 26, 0)}, {"first_sequence_id": 5}):
        other = dataclasses.replace(CONFIG, **change)
        assert _contents(new_store(other)) == _contents(CaseStore(other))
        assert _contents(new_store(other)) != _contents(second), change


def test_the_store_is_generated_from_exactly_the_settings_it_is_kept_by() -> None:
    """A setting read but not in GENERATED_FROM would hand simulators another config's data."""
    read: set[str] = set()

    class Reads:
        def __init__(self, config: SimConfig) -> None:
            self.config = config

        def __getattr__(self, name: str) -> Any:
            attribute = getattr(SimConfig, name, None)
            if callable(attribute):  # a method: run it on this proxy, to see what it reads
                return attribute.__get__(self)
            read.add(name)
            return getattr(self.config, name)

    for config in (CONFIG, dataclasses.replace(CONFIG, cases=30)):  # `tasks` counts with an int
        CaseStore(Reads(config))  # type: ignore[arg-type]
    assert read == set(GENERATED_FROM)
