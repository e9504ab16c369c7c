"""Injected faults: each kind does what it says; scripts and rates are deterministic."""

from __future__ import annotations

import email.utils
import gzip
import json
from typing import Any

import pytest
import requests

from centaur_sim import Simulator
from centaur_sim.messages import TEXT
from tests.harness import LIST, LOGIN, SimFactory
from tests.sim.helpers import NewSession, login

PARAMS = {"task_id": 101}


def _get(client: requests.Session, sim: Simulator, **kwargs: Any) -> requests.Response:
    return client.get(sim.url + LIST, params=PARAMS, timeout=kwargs.pop("timeout", 5), **kwargs)


def test_429_has_retry_after(sim: Simulator, client: requests.Session) -> None:
    sim.set(retry_after=0)
    sim.script_faults([{"kind": "429", "count": 2}])
    for _ in range(2):
        r = _get(client, sim)
        assert (r.status_code, r.headers["Retry-After"]) == (429, "0")
    assert _get(client, sim).status_code == 200
    assert sim.stats()["faults"] == {"429": 2}


def test_429_http_date_form(sim: Simulator, client: requests.Session) -> None:
    sim.set(retry_after=30, retry_after_style="http-date")
    sim.script_faults([{"kind": "429"}])
    r = _get(client, sim)
    assert r.status_code == 429
    assert email.utils.parsedate_to_datetime(r.headers["Retry-After"]).tzinfo is not None


@pytest.mark.parametrize(
    "case",
    [
        ("500", 500, "text/plain", b"Internal Server Error."),
        ("502", 502, "text/html", None),
        ("503", 503, "application/json", b'{"message":"Service Unavailable"}'),
        ("html200", 200, "text/html", b"<html><body>Gateway maintenance</body></html>"),
        ("empty200", 200, "application/json", b""),
        ("401", 401, "application/json", b'{"message":"Unauthorized"}'),
        ("403", 403, "application/json", None),
    ],
)
def test_canned_faults(
    sim: Simulator, client: requests.Session, case: tuple[str, int, str, bytes | None]
) -> None:
    kind, status, content_type, body = case
    sim.script_faults([{"kind": kind}])
    r = _get(client, sim)
    assert r.status_code == status
    assert r.headers["Content-Type"].startswith(content_type)
    if body is not None:
        assert r.content == body


def test_answer_sends_any_status_reason_and_body_echoing_the_api_key(
    sim: Simulator, client: requests.Session
) -> None:
    sim.set(api_key="k/ey+1 x")
    client.headers["X-API-KEY"] = "k/ey+1 x"
    body = '{"message": "key {api_key_json} {api_key_url}", "raw": "{api_key}"}'
    sim.script_faults(
        [
            {"kind": "answer", "status": 403, "reason": "No\rway\x1b[2J", "body": body},
            {"kind": "answer", "body": "text {api_key}"},
        ]
    )
    r = _get(client, sim)
    assert (r.status_code, r.reason) == (403, "No\rway\x1b[2J")
    assert r.text == '{"message": "key k\\/ey+1 x k%2Fey%2B1%20x", "raw": "k/ey+1 x"}'
    r = _get(client, sim)
    assert (r.status_code, r.headers["Content-Type"], r.text) == (400, TEXT, "text k/ey+1 x")


def test_bad_parameters_answer_400_or_a_fastapi_422(
    sim: Simulator, client: requests.Session
) -> None:
    bad = {**PARAMS, "limit": 0}
    assert client.get(sim.url + LIST, params=bad, timeout=5).json() == {
        "message": "Invalid parameter"
    }
    sim.set(bad_parameter_status=422)
    r = client.get(sim.url + LIST, params=bad, timeout=5)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "limit"]


def test_bad_utf8(sim: Simulator, client: requests.Session) -> None:
    sim.script_faults([{"kind": "bad_utf8"}])
    r = _get(client, sim)
    assert r.status_code == 200
    with pytest.raises(UnicodeDecodeError):
        r.content.decode("utf-8")


def test_401_fault_expires_the_token(sim: Simulator, client: requests.Session) -> None:
    sim.script_faults([{"kind": "401"}])
    assert _get(client, sim).status_code == 401
    assert _get(client, sim).status_code == 401  # the token really is gone


def test_reset_aborts_the_connection(sim: Simulator, client: requests.Session) -> None:
    sim.script_faults([{"kind": "reset"}])
    with pytest.raises(requests.ConnectionError):
        _get(client, sim)
    assert _get(client, sim).status_code == 200
    assert sim.stats()["requests"][LIST] == {"reset": 1, "200": 1}


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_truncate_sends_half_the_body(
    sim: Simulator, client: requests.Session, encoding: str
) -> None:
    sim.script_faults([{"kind": "truncate"}])
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        _get(client, sim, headers={"Accept-Encoding": encoding})
    assert _get(client, sim).status_code == 200


def test_timeout_spike(sim: Simulator, client: requests.Session) -> None:
    sim.set(spike_seconds=0.5)
    sim.script_faults([{"kind": "timeout"}])
    with pytest.raises(requests.exceptions.ReadTimeout):
        _get(client, sim, timeout=0.2)
    assert _get(client, sim).status_code == 200


def test_script_filters_by_path_and_task(sim: Simulator, client: requests.Session) -> None:
    sim.script_faults(
        [
            {"kind": "503", "task_id": 102},
            {"kind": "500", "path": "/results/public/v1/get"},
        ]
    )
    assert _get(client, sim).status_code == 200  # neither matches task 101's list
    r = client.get(sim.url + LIST, params={"task_id": 102})
    assert r.status_code == 503
    case_id = sim.truth(101)[0]["case_id"]
    r = client.get(sim.url + "/results/public/v1/get", params={"task_id": 101, "case_id": case_id})
    assert r.status_code == 500
    assert sim.pending_faults()["script"] == []


def test_login_gets_faults_only_by_path(sim: Simulator) -> None:
    sim.script_faults([{"kind": "502"}])
    assert login(sim).status_code == 200
    sim.clear_faults()
    sim.script_faults([{"kind": "502", "path": LOGIN}, {"kind": "503", "path": "/auth/"}])
    assert login(sim).status_code == 502
    token = login(sim)
    assert token.status_code == 503
    sim.set_fault_rates({"500": 1.0})
    assert login(sim).status_code == 200


def test_random_rates_are_seeded(make_sim: SimFactory, new_session: NewSession) -> None:
    def run() -> list[int]:
        sim = make_sim(fault_rates={"500": 0.3, "503": 0.2}, fault_seed=9)
        s = new_session(sim)
        return [_get(s, sim).status_code for _ in range(40)]

    first, second = run(), run()
    assert first == second
    assert {200, 500, 503} <= set(first)


def test_bad_fault_specs_are_rejected(sim: Simulator) -> None:
    with pytest.raises(ValueError, match="fault kind"):
        sim.script_faults([{"kind": "teapot"}])
    with pytest.raises(ValueError, match="answer faults only"):
        sim.script_faults([{"kind": "500", "body": "x"}])
    with pytest.raises(ValueError, match="sum"):
        sim.set_fault_rates({"500": 0.8, "503": 0.5})
    with pytest.raises(ValueError, match="size"):
        sim.script_faults([{"kind": "500", "size": 10}])


def test_gzip_bomb_and_flood_are_an_empty_page_of_their_size(
    sim: Simulator, client: requests.Session
) -> None:
    sim.script_faults([{"kind": "gzip_bomb", "size": 3_000_000}, {"kind": "flood", "size": 2_000}])
    bomb = _get(client, sim, stream=True)
    sent = bomb.raw.read(decode_content=False)
    assert bomb.headers["Content-Encoding"] == "gzip" and len(sent) < 10_000
    inflated = gzip.decompress(sent)
    flood = _get(client, sim)
    assert "Content-Length" not in flood.headers and flood.headers["Connection"] == "close"
    assert (len(inflated), len(flood.content)) == (3_000_000, 2_000)
    assert json.loads(inflated) == flood.json() == {"payload": [], "limit": 100}
    assert sim.stats()["streamed_bytes"] == 2_000


def test_empty_page_says_more_follow_one_past_the_cursor(
    sim: Simulator, client: requests.Session
) -> None:
    sim.script_faults([{"kind": "empty_page", "count": 2}])
    first = _get(client, sim).json()
    assert first == {"payload": [], "has_next": True, "last_sequence_id": 1, "limit": 100}
    params = {**PARAMS, "last_sequence_id": 41}
    assert client.get(sim.url + LIST, params=params, timeout=5).json()["last_sequence_id"] == 42


@pytest.mark.parametrize(
    ("kind", "size", "start"),
    [
        ("deep_json", 3, b'{"payload":[{"nested":{"a":{"a":{"a":1}}},"task_id":101'),
        ("nan", None, b'{"payload":[{"agreement":NaN,"task_id":101'),
        ("huge_number", None, b'{"payload":[{"agreement":1e400,"task_id":101'),
        ("bom", None, b'\xef\xbb\xbf{"payload":[{"task_id":101'),
    ],
)
def test_spoilt_pages(
    sim: Simulator, client: requests.Session, kind: str, size: int | None, start: bytes
) -> None:
    sim.script_faults([{"kind": kind, "size": size}])
    assert _get(client, sim).content.startswith(start)


def test_date_9999_in_the_date_and_in_retry_after(sim: Simulator, client: requests.Session) -> None:
    sim.set(retry_after_style="year-9999")
    sim.script_faults([{"kind": "date_9999"}, {"kind": "429"}])
    assert _get(client, sim).headers["Date"] == "Fri, 31 Dec 9999 23:59:59 -0100"
    assert _get(client, sim).headers["Retry-After"] == "Fri, 31 Dec 9999 23:59:59 -0100"
