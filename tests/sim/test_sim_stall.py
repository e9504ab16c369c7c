"""The `stall` fault: headers at once, then the body one byte at a time."""

from __future__ import annotations

import http.client
import threading
import time

import pytest
import requests

from centaur_sim import Simulator
from tests.harness import LIST, SimFactory
from tests.sim.helpers import LoginToken, auth_headers

TASKS = "/tasks/public/v1/list"


def _headers(token: str) -> dict[str, str]:
    return {**auth_headers(token), "Accept-Encoding": "identity"}


def _connect(sim: Simulator, token: str, target: str) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    conn.request("GET", target, headers=_headers(token))
    return conn


def test_a_stalled_body_arrives_whole_and_slowly(sim: Simulator, login_token: LoginToken) -> None:
    sim.set(stall_byte_seconds=0.002)
    token = login_token(sim)
    conn = _connect(sim, token, f"{TASKS}?limit=1")
    expected = conn.getresponse().read()
    sim.script_faults([{"kind": "stall"}])
    conn.request("GET", f"{TASKS}?limit=1", headers=_headers(token))
    started = time.monotonic()
    response = conn.getresponse()
    assert response.status == 200
    assert int(response.getheader("Content-Length") or -1) == len(expected)
    assert response.read() == expected
    assert time.monotonic() - started >= (len(expected) - 1) * 0.002
    conn.request("GET", f"{TASKS}?limit=1", headers=_headers(token))
    assert conn.getresponse().read() == expected  # the connection stays usable
    conn.close()
    assert sim.stats()["faults"] == {"stall": 1}


def test_headers_and_the_first_byte_come_at_once(sim: Simulator, login_token: LoginToken) -> None:
    sim.set(stall_byte_seconds=30)
    sim.script_faults([{"kind": "stall"}])
    conn = _connect(sim, login_token(sim), f"{LIST}?task_id=101")
    conn.sock.settimeout(5)  # far less than one interval of 30 s
    response = conn.getresponse()
    assert response.status == 200
    assert int(response.getheader("Content-Length") or 0) > 1000
    assert response.read(1) == b"{"
    conn.close()


def test_a_client_read_timeout_fires_between_bytes(
    sim: Simulator, client: requests.Session
) -> None:
    sim.set(stall_byte_seconds=2)
    sim.script_faults([{"kind": "stall"}])
    with pytest.raises(requests.exceptions.ConnectionError, match="timed out"):
        client.get(sim.url + LIST, params={"task_id": 101}, timeout=(5, 0.2))
    assert client.get(sim.url + LIST, params={"task_id": 101}, timeout=5).status_code == 200


def _handler_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if "process_request" in t.name}


def test_the_simulator_stops_dripping_when_the_client_leaves(
    sim: Simulator, login_token: LoginToken
) -> None:
    sim.set(stall_byte_seconds=0.05)  # a page of 100 cases would take minutes
    token = login_token(sim)
    before = _handler_threads()
    sim.script_faults([{"kind": "stall"}])
    conn = _connect(sim, token, f"{LIST}?task_id=101")
    response = conn.getresponse()
    assert response.read(3) == b'{"p'
    [dripping] = _handler_threads() - before
    conn.close()
    dripping.join(timeout=10)
    assert not dripping.is_alive()


def test_stopping_the_simulator_ends_a_stall(make_sim: SimFactory, login_token: LoginToken) -> None:
    sim = make_sim(stall_byte_seconds=60)
    token = login_token(sim)
    before = _handler_threads()
    sim.script_faults([{"kind": "stall"}])
    conn = _connect(sim, token, f"{LIST}?task_id=101")
    assert conn.getresponse().read(1) == b"{"
    [dripping] = _handler_threads() - before
    sim.stop()
    dripping.join(timeout=10)
    assert not dripping.is_alive()
    conn.close()
