"""HTTPS with the throwaway test certificate in tests/sim/tls/."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from centaur_sim import SimConfig
from tests.harness import LIST, STATIC_TOKEN, SimFactory
from tests.sim.helpers import auth_headers, login

TLS = Path(__file__).resolve().parent / "tls"
CERT, KEY = str(TLS / "cert.pem"), str(TLS / "key.pem")


def test_https_needs_the_certificate_to_verify(make_sim: SimFactory) -> None:
    sim = make_sim(tasks=3, cases=30, tls_certfile=CERT, tls_keyfile=KEY)
    assert sim.url.startswith("https://127.0.0.1:")
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(sim.url + "/nowhere", timeout=5)
    r = login(sim, verify=CERT)
    assert r.status_code == 200
    s = requests.Session()  # not `s.verify`: REQUESTS_CA_BUNDLE in the environment beats it
    s.headers.update(auth_headers(r.json()["token"]))
    for _ in range(2):  # keep-alive over TLS
        page = s.get(sim.url + LIST, params={"task_id": 101}, verify=CERT, timeout=5)
        assert page.json()["payload"] == sim.truth(101)
    assert sim.stats()["requests"][LIST] == {"200": 2}


def test_plain_http_to_the_https_port_fails_and_serving_goes_on(make_sim: SimFactory) -> None:
    sim = make_sim(tls_certfile=CERT, tls_keyfile=KEY)
    with pytest.raises(requests.ConnectionError):
        requests.get(sim.url.replace("https://", "http://") + "/nowhere", timeout=5)
    assert requests.get(sim.url + "/nowhere", verify=CERT, timeout=5).status_code == 404


def test_transport_faults_over_tls(make_sim: SimFactory) -> None:
    sim = make_sim(tls_certfile=CERT, tls_keyfile=KEY)
    headers = auth_headers(STATIC_TOKEN)

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
