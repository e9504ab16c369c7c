"""Scenario 12, the transport fails: TLS, proxies, long Retry-After. Runs set REQUESTS_CA_BUNDLE
(this machine sets it); a proxied `api_url` says `localhost` (`requests` then proxies it)."""

from __future__ import annotations

import os
import re
import socket
import time
from pathlib import Path

import pytest

from tests.harness import LIST, SABOTAGE_ENV, assert_one_clear_error, login_config
from tests.reliability import SIM, TASKS

TLS = Path(__file__).resolve().parents[1] / "sim" / "tls"
SYSTEM_CAS = "/etc/ssl/certs/ca-certificates.crt"  # Debian's bundle: not the test certificate
PROXY_PASSWORD = "pr0xy-s3cret-W8"


pytestmark = pytest.mark.usefixtures("no_tap_thread_outlives_the_test")


@pytest.fixture
def tls_sim(make_sim):
    return make_sim(**SIM, tls_certfile=str(TLS / "cert.pem"), tls_keyfile=str(TLS / "key.pem"))


CERTIFICATE = str(TLS / "cert.pem")
NEEDS_SYSTEM_CAS = pytest.mark.skipif(not Path(SYSTEM_CAS).exists(), reason="no CA bundle")
BUNDLES = [  # REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE (None: unset, requests uses certifi's)
    pytest.param(SYSTEM_CAS, id="system-CAs", marks=NEEDS_SYSTEM_CAS),
    pytest.param(None, id="none-set"),
    pytest.param(CERTIFICATE, id="the-certificate"),
]


@pytest.mark.parametrize("bundle", BUNDLES)
def test_https_needs_the_certificate_and_a_tls_failure_says_what_to_check(
    tls_sim, tap, monkeypatch, bundle
):
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    env = dict.fromkeys(("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"), bundle) if bundle else {}
    run = tap.run(login_config(tls_sim.url, TASKS, page_size=20, max_retries=3), env=env)
    if bundle == CERTIFICATE:
        assert run.exit_code == 0, run.stderr[-3000:]
        assert set(run.keys) == tls_sim.keys() and len(run.keys) == len(tls_sim.keys())
        return
    line = assert_one_clear_error(
        run, "TLS", "not retried", "REQUESTS_CA_BUNDLE", "api_url", tls_sim.url
    )
    assert len(run.error_lines) == 1 and "certificate verify failed" in line, run.error_lines
    assert run.retries == 0, f"a TLS failure was retried {run.retries} times"
    assert not run.keys and tls_sim.stats()["total_requests"] == 0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_dead_proxy_is_named_as_the_proxy(make_sim, tls_sim, tap, monkeypatch, scheme):
    for name in ("NO_PROXY", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):  # this machine's
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    port = _closed_port()
    proxy = f"http://robot:{PROXY_PASSWORD}@127.0.0.1:{port}"
    if scheme == "http":
        sim = make_sim(**SIM)
        env = {"HTTP_PROXY": proxy}
    else:
        sim = tls_sim
        env = {"HTTPS_PROXY": proxy, "REQUESTS_CA_BUNDLE": CERTIFICATE}
    api_url = sim.url.replace("127.0.0.1", "localhost")
    run = tap.run(
        login_config(api_url, TASKS, max_retries=1), env=env, extra_secrets=[PROXY_PASSWORD]
    )
    line = assert_one_clear_error(
        run, f"the proxy http://127.0.0.1:{port} failed", "HTTPS_PROXY / HTTP_PROXY", "NO_PROXY"
    )
    assert "giving up after 2 attempts" in line and "robot" not in run.stderr, line
    assert sim.stats()["total_requests"] == 0, "a request bypassed the proxy"


RETRY_AFTER = [
    pytest.param({"retry_after": 3600}, id="3600-seconds"),
    pytest.param(
        {"retry_after": 3600, "retry_after_style": "http-date", "date_offset_seconds": 365 * 86400},
        id="an-HTTP-date-an-hour-ahead-of-a-server-clock-a-year-ahead",
    ),
]


@pytest.mark.skipif(
    bool(os.environ.get(SABOTAGE_ENV)),
    reason="patches time.sleep in this process; under a sabotage the tap runs as a subprocess, "
    "where the 600 s wait would be real",
)
@pytest.mark.parametrize("settings", RETRY_AFTER)
def test_a_retry_after_beyond_the_cap_says_what_was_asked_and_what_is_waited(
    make_sim, tap, monkeypatch, figures, settings
):
    sim = make_sim(**SIM, **settings)
    sim.script_faults([{"kind": "429", "path": LIST, "task_id": 102}])
    real_sleep = time.sleep
    long_sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        if seconds >= 60:
            long_sleeps.append(seconds)
        else:
            real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    run = tap.run(login_config(sim.url, TASKS, page_size=20))
    assert run.exit_code == 0, run.stderr[-3000:]
    assert set(run.keys) == sim.keys()
    asked = re.findall(r"asked to wait (\d+) s \(Retry-After\); the tap waits (\d+) s", run.stderr)
    assert len(asked) == 1 and run.stderr.count("(Retry-After)") == 1, asked
    # An HTTP date has whole seconds, and so has the Date header it is measured against.
    assert abs(int(asked[0][0]) - 3600) <= 1 and asked[0][1] == "600", asked
    assert long_sleeps and all(590 <= seconds <= 600 for seconds in long_sleeps), long_sleeps
    figures.update(asked_seconds=int(asked[0][0]), waited_seconds=[round(s) for s in long_sleeps])
