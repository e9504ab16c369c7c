"""HTTP details: gzip, headers, keep-alive, latency, stopping."""

from __future__ import annotations

import gzip
import http.client
import json
import time

import pytest
import requests

from centaur_sim import Simulator
from tests.harness import LIST, SimFactory, sim_config
from tests.sim.helpers import LoginToken, NewSession, auth_headers


def test_gzip_when_asked(sim: Simulator, client: requests.Session) -> None:
    r = client.get(sim.url + LIST, params={"task_id": 101}, headers={"Accept-Encoding": "gzip"})
    assert r.headers["Content-Encoding"] == "gzip"
    assert r.json()["payload"] == sim.truth(101)[:100]
    plain = client.get(
        sim.url + LIST, params={"task_id": 101}, headers={"Accept-Encoding": "identity"}
    )
    assert "Content-Encoding" not in plain.headers
    assert plain.json() == r.json()


def test_gzip_can_be_switched_off(make_sim: SimFactory, new_session: NewSession) -> None:
    sim = make_sim(gzip=False)
    r = new_session(sim).get(sim.url + LIST, params={"task_id": 101})
    assert "Content-Encoding" not in r.headers


def test_raw_http_headers_and_keep_alive(sim: Simulator, login_token: LoginToken) -> None:
    token = login_token(sim)
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    headers = {**auth_headers(token), "Accept-Encoding": "gzip"}
    for _ in range(3):  # one connection, three requests
        conn.request("GET", f"{LIST}?task_id=101&limit=5", headers=headers)
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200
        assert response.version == 11
        assert response.getheader("Date")
        assert int(response.getheader("Content-Length") or -1) == len(body)
        assert len(json.loads(gzip.decompress(body))["payload"]) == 5
    conn.request("GET", "/nowhere", headers=headers)
    response = conn.getresponse()
    body = gzip.decompress(response.read())
    assert (response.status, json.loads(body)) == (404, {"message": "Not Found"})
    conn.close()


def test_latency(sim: Simulator, client: requests.Session) -> None:
    sim.set(latency_ms=150)
    started = time.monotonic()
    client.get(sim.url + LIST, params={"task_id": 101})
    assert time.monotonic() - started >= 0.15


def test_latency_includes_the_simulators_own_work(
    sim: Simulator, client: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer goes out 150 ms after the request was read, not 150 ms after the work."""
    slept: list[float] = []
    monkeypatch.setattr("centaur_sim.server.time.sleep", slept.append)
    sim.set(latency_ms=150)
    client.get(sim.url + LIST, params={"task_id": 101, "limit": 1000})
    assert len(slept) == 1
    assert 0 < slept[0] < 0.15


def test_stats_and_reset(sim: Simulator, client: requests.Session) -> None:
    client.get(sim.url + LIST, params={"task_id": 101, "limit": 10})
    client.get(sim.url + LIST, params={"task_id": 999})
    stats = sim.stats()
    assert stats["requests"][LIST] == {"200": 1, "404": 1}
    assert stats["records_served"] == 10
    assert stats["logins"] == 1
    sim.reset_stats()
    assert sim.stats()["total_requests"] == 0


def test_stop_closes_everything(make_sim: SimFactory, new_session: NewSession) -> None:
    sim = make_sim()
    s = new_session(sim)
    assert s.get(sim.url + LIST, params={"task_id": 101}).status_code == 200
    url = sim.url
    sim.stop()
    with pytest.raises(requests.ConnectionError):
        s.get(url + LIST, params={"task_id": 101}, timeout=2)
    with pytest.raises(RuntimeError):
        _ = sim.url
    sim.stop()  # idempotent


def test_context_manager() -> None:
    with Simulator(sim_config(cases=1)) as sim:
        assert requests.get(sim.url + "/x", timeout=5).status_code == 404
