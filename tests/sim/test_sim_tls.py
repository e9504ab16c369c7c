"""HTTPS with the throwaway test certificate in tests/sim/tls/."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from centaur_sim import SimConfig
from tests.sim.helpers import MakeSim

TLS = Path(__file__).resolve().parent / "tls"
CERT, KEY = str(TLS / "cert.pem"), str(TLS / "key.pem")
KEY_HEADER = {"X-API-KEY": "demo-api-key"}
CREDS = {"username": "demo@example.com", "api_password": "demo-api-password"}
LIST = "/results/public/v1/list"


def test_https_needs_the_certificate_to_verify(make_sim: MakeSim) -> None:
    sim = make_sim(tls_certfile=CERT, tls_keyfile=KEY)
    assert sim.url.startswith("https://127.0.0.1:")
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(sim.url + "/nowhere", timeout=5)
    login = sim.url + "/auth/public/v1/login"
    r = requests.post(login, json=CREDS, headers=KEY_HEADER, verify=CERT, timeout=5)
    assert r.status_code == 200
    s = requests.Session()  # not `s.verify`: REQUESTS_CA_BUNDLE in the environment beats it
    s.headers.update({**KEY_HEADER, "Authorization": f"Bearer {r.json()['token']}"})
    for _ in range(2):  # keep-alive over TLS
        page = s.get(sim.url + LIST, params={"task_id": 101}, verify=CERT, timeout=5)
        assert page.json()["payload"] == sim.truth(101)
    assert sim.stats()["requests"][LIST] == {"200": 2}


def test_plain_http_to_the_https_port_fails_and_serving_goes_on(make_sim: MakeSim) -> None:
    sim = make_sim(tls_certfile=CERT, tls_keyfile=KEY)
    with pytest.raises(requests.ConnectionError):
        requests.get(sim.url.replace("https://", "http://") + "/nowhere", timeout=5)
    assert requests.get(sim.url + "/nowhere", verify=CERT, timeout=5).status_code == 404


def test_transport_faults_over_tls(make_sim: MakeSim) -> None:
    sim = make_sim(tls_certfile=CERT, tls_keyfile=KEY, static_token="tok")
    headers = {**KEY_HEADER, "Authorization": "Bearer tok"}

    def get() -> requests.Response:
        url = sim.url + LIST
        return requests.get(url, params={"task_id": 101}, headers=headers, verify=CERT, timeout=5)

    sim.script_faults([{"kind": "reset"}, {"kind": "truncate"}])
    for error in (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
        with pytest.raises(error):
            get()
    assert get().status_code == 200


def test_a_key_needs_a_certificate() -> None:
    with pytest.raises(ValueError, match="tls_keyfile needs tls_certfile"):
        SimConfig(tls_keyfile=KEY)
