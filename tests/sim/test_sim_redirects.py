"""The `redirect` fault, and the record of requests an origin received."""

from __future__ import annotations

import http.client
import threading

import pytest
import requests

from centaur_sim import Simulator
from tests.harness import API_KEY, LIST, SimFactory
from tests.sim.helpers import LoginToken, NewSession, auth_headers


def _raw(sim: Simulator, token: str, target: str) -> http.client.HTTPResponse:
    """One GET that does not follow redirects."""
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    conn.request("GET", target, headers=auth_headers(token))
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_status_and_location(sim: Simulator, login_token: LoginToken, status: int) -> None:
    sim.script_faults([{"kind": "redirect", "status": status, "location": "/elsewhere?x=1"}])
    token = login_token(sim)
    response = _raw(sim, token, f"{LIST}?task_id=101")
    assert (response.status, response.getheader("Location")) == (status, "/elsewhere?x=1")
    assert _raw(sim, token, f"{LIST}?task_id=101").status == 200  # consumed
    assert sim.stats()["faults"] == {"redirect": 1}


def test_redirect_defaults_to_307_to_the_same_target(
    sim: Simulator, login_token: LoginToken
) -> None:
    sim.script_faults([{"kind": "redirect", "count": 2}])
    response = _raw(sim, login_token(sim), f"{LIST}?task_id=101&limit=5")
    assert response.status == 307
    assert response.getheader("Location") == f"{LIST}?task_id=101&limit=5"
    assert response.getheader("Content-Type", "").startswith("application/json")


def test_a_long_redirect_script_is_a_loop(sim: Simulator, client: requests.Session) -> None:
    sim.script_faults([{"kind": "redirect", "count": 1000}])
    with pytest.raises(requests.TooManyRedirects):
        client.get(sim.url + LIST, params={"task_id": 101}, timeout=5)


def test_a_same_origin_redirect_is_followed(make_sim: SimFactory, new_session: NewSession) -> None:
    sim = make_sim(tasks=3, cases=30)
    client = new_session(sim)
    sim.script_faults([{"kind": "redirect", "location": f"{LIST}?task_id=102"}])
    r = client.get(sim.url + LIST, params={"task_id": 101}, timeout=5)
    assert r.status_code == 200
    assert r.json()["payload"] == sim.truth(102)
    assert [h.status_code for h in r.history] == [307]


def test_bad_redirect_specs_are_rejected(sim: Simulator) -> None:
    with pytest.raises(ValueError, match="redirect status"):
        sim.script_faults([{"kind": "redirect", "status": 200}])
    with pytest.raises(ValueError, match="redirect faults only"):
        sim.script_faults([{"kind": "500", "location": "/x"}])


def test_another_origin_records_what_reached_it(
    make_sim: SimFactory, client: requests.Session, sim: Simulator
) -> None:
    other = make_sim(record_requests=True)
    location = other.url + "/landing?from=sim"
    sim.script_faults([{"kind": "redirect", "status": 302, "location": location}])
    r = client.get(sim.url + LIST, params={"task_id": 101}, headers={"X-Trace": "t1"}, timeout=5)
    assert r.status_code == 404  # the other origin does not know /landing
    [seen] = other.requests()
    assert (seen["method"], seen["path"], seen["query"]) == ("GET", "/landing", "from=sim")
    assert seen["headers"]["x-trace"] == "t1"
    assert "authorization" not in seen["headers"]  # requests drops it across origins
    assert seen["body"] == ""


def test_recording_is_off_by_default_and_skips_control_calls(
    sim: Simulator, client: requests.Session
) -> None:
    client.get(sim.url + LIST, params={"task_id": 101}, timeout=5)
    assert sim.requests() == []
    sim.set(record_requests=True)
    requests.get(sim.url + "/_sim/stats", timeout=5)
    client.post(sim.url + "/nowhere", params={"a": "b c"}, data=b"\xffhi", timeout=5)
    client.get(sim.url + LIST, params={"task_id": 101}, timeout=5)
    recorded = sim.requests()
    assert [(r["method"], r["path"], r["query"]) for r in recorded] == [
        ("POST", "/nowhere", "a=b+c"),
        ("GET", LIST, "task_id=101"),
    ]
    assert recorded[0]["body"] == "\ufffdhi"
    assert recorded[0]["headers"]["x-api-key"] == API_KEY
    assert all(name == name.lower() for r in recorded for name in r["headers"])
    recorded[0]["headers"].clear()  # a copy: the simulator's record stays
    assert sim.requests()[0]["headers"]["x-api-key"] == API_KEY
    over_http = requests.get(sim.url + "/_sim/requests", timeout=5).json()
    assert over_http == sim.requests()
    sim.reset_stats()
    assert sim.requests() == []


def test_recording_keeps_every_request_of_concurrent_clients(
    make_sim: SimFactory, login_token: LoginToken
) -> None:
    sim = make_sim(record_requests=True)
    token = login_token(sim)

    def client(n: int) -> None:
        s = requests.Session()
        s.headers.update(auth_headers(token))
        for i in range(10):
            params: dict[str, str | int] = {"task_id": 101, "limit": 1, "n": f"{n}-{i}"}
            s.get(sim.url + LIST, params=params, timeout=5)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queries = [r["query"] for r in sim.requests() if r["path"] == LIST]
    assert sorted(queries) == sorted(
        f"task_id=101&limit=1&n={n}-{i}" for n in range(4) for i in range(10)
    )
    for n in range(4):  # each client's requests in the order it sent them
        mine = [q for q in queries if q.endswith(tuple(f"n={n}-{i}" for i in range(10)))]
        assert mine == [f"task_id=101&limit=1&n={n}-{i}" for i in range(10)]
