"""The /_sim/ HTTP control endpoints, for a simulator in another process."""

from __future__ import annotations

from typing import Any

import requests

from centaur_sim import Simulator
from tests.harness import LIST, SimFactory


def _post(sim: Simulator, path: str, body: dict[str, Any] | None = None) -> requests.Response:
    return requests.post(sim.url + "/_sim/" + path, json=body or {}, timeout=5)


def test_truth_and_meta(make_sim: SimFactory) -> None:
    sim = make_sim(tasks=3, cases=30)
    truth = requests.get(sim.url + "/_sim/truth", params={"task_id": 102}, timeout=5).json()
    assert truth == sim.truth(102)
    assert len(requests.get(sim.url + "/_sim/truth", timeout=5).json()) == 90
    meta = requests.get(sim.url + "/_sim/meta", params={"task_id": 102}, timeout=5).json()
    assert [m["case_id"] for m in meta] == [r["case_id"] for r in truth]


def test_update_add_state_task(sim: Simulator) -> None:
    r = _post(sim, "update", {"task_id": 101, "count": 2, "rng_seed": 3, "at": 1_900_000_000})
    changed = r.json()["case_ids"]
    assert len(changed) == 2
    rows = {m["case_id"]: m for m in sim.truth_meta(101)}
    assert all(rows[c]["updated_at"] == 1_900_000_000 for c in changed)
    added = _post(sim, "add", {"task_id": 101, "count": 3}).json()["case_ids"]
    assert [r["case_id"] for r in sim.truth(101)][-3:] == added
    case_id = added[0]
    r = _post(sim, "state", {"task_id": 101, "case_id": case_id, "state": "Flagged"})
    assert r.status_code == 200
    assert sim.truth(101)[-3]["labeling_state"] == "Flagged"
    assert _post(sim, "task", {"cases": 2, "unsupported": True}).json() == {"task_id": 104}


def test_faults_misbehaviour_settings(sim: Simulator, client: requests.Session) -> None:
    r = _post(sim, "faults", {"script": [{"kind": "503", "count": 1}]})
    fault = {"kind": "503", "count": 1, "path": None, "task_id": None}
    assert r.json()["script"] == [
        {**fault, **dict.fromkeys(("status", "location", "reason", "body", "size"))}
    ]
    assert client.get(sim.url + LIST, params={"task_id": 101}).status_code == 503
    _post(sim, "faults", {"rates": {"500": 1.0}, "seed": 1})
    assert client.get(sim.url + LIST, params={"task_id": 101}).status_code == 500
    _post(sim, "faults", {"clear": True})
    assert requests.get(sim.url + "/_sim/faults", timeout=5).json() == {"script": [], "rates": {}}
    _post(sim, "misbehaviour", {"task_id": 101, "kind": "has_next_not_bool"})
    page = client.get(sim.url + LIST, params={"task_id": 101, "limit": 10}).json()
    assert page["has_next"] == "yes"
    _post(sim, "misbehaviour", {"task_id": 101, "kind": None})
    config = _post(sim, "settings", {"last_page_style": "false", "latency_ms": 1}).json()
    assert config["last_page_style"] == "false"
    assert sim.config.latency_ms == 1
    stats = requests.get(sim.url + "/_sim/stats", timeout=5).json()
    assert stats["faults"] == {"503": 1, "500": 1}
    assert _post(sim, "reset-stats").status_code == 200
    assert sim.stats()["faults"] == {}
    assert _post(sim, "expire-tokens").json() == {"expired": 1}


def test_control_errors(sim: Simulator) -> None:
    assert _post(sim, "settings", {"seed": 3}).status_code == 400  # not a runtime setting
    assert _post(sim, "settings", {"page_size": 0}).status_code == 400
    assert _post(sim, "settings", {"max_limit": 5}).status_code == 400  # startup only
    assert _post(sim, "settings", {"latency_ms": "1"}).status_code == 400
    assert _post(sim, "settings", {"gzip": 1}).status_code == 400
    assert _post(sim, "settings", {"static_token": None}).status_code == 200
    assert _post(sim, "update", {"task_id": 999}).status_code == 404
    assert _post(sim, "update", {}).status_code == 400
    assert _post(sim, "update", {"task_id": 101, "bogus": 1}).status_code == 400
    assert _post(sim, "misbehaviour", {"task_id": 101, "kind": "nope"}).status_code == 400
    assert _post(sim, "faults", {"script": [{"kind": "nope"}]}).status_code == 400
    r = requests.post(sim.url + "/_sim/add", data=b"[1]", timeout=5)
    assert r.status_code == 400
    assert requests.get(sim.url + "/_sim/nothing", timeout=5).status_code == 404
    assert requests.get(sim.url + "/_sim/update", timeout=5).status_code == 405
