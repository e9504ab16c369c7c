"""Scenario 12, the transport fails: TLS, proxies, long Retry-After.

This machine sets REQUESTS_CA_BUNDLE: each run sets it explicitly. A proxy test's `api_url`
says `localhost` with NO_PROXY cleared (`requests` then proxies loopback too).
"""

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


@pytest.fixture
def no_proxy_settings(monkeypatch):
    """No proxy variable of this machine's: each test sets its own."""
    for name in ("NO_PROXY", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.mark.skipif(not Path(SYSTEM_CAS).exists(), reason=f"needs a CA bundle at {SYSTEM_CAS}")
@pytest.mark.parametrize("bundle", ["system CAs", "none set"])
def test_a_tls_certificate_failure_is_not_retried_and_says_what_to_check(
    tls_sim, tap, monkeypatch, bundle
):
    env = {}
    if bundle == "system CAs":
        env = {"REQUESTS_CA_BUNDLE": SYSTEM_CAS, "CURL_CA_BUNDLE": SYSTEM_CAS}
    else:  # requests then uses certifi's bundle
        monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    run = tap.run(login_config(tls_sim.url, TASKS, max_retries=3), env=env)
    line = assert_one_clear_error(
        run, "TLS", "not retried", "REQUESTS_CA_BUNDLE", "api_url", tls_sim.url
    )
    assert len(run.error_lines) == 1, run.error_lines
    assert "certificate verify failed" in line
    assert run.retries == 0, f"a TLS failure was retried {run.retries} times"
    assert not run.keys
    assert tls_sim.stats()["total_requests"] == 0


def test_requests_ca_bundle_holding_the_certificate_makes_https_work(tls_sim, tap):
    run = tap.run(
        login_config(tls_sim.url, TASKS, page_size=20),
        env={"REQUESTS_CA_BUNDLE": str(TLS / "cert.pem")},
    )
    assert run.exit_code == 0, run.stderr[-3000:]
    assert set(run.keys) == tls_sim.keys() and len(run.keys) == len(tls_sim.keys())


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_dead_proxy_is_named_as_the_proxy(make_sim, tls_sim, tap, no_proxy_settings, scheme):
    port = _closed_port()
    proxy = f"http://robot:{PROXY_PASSWORD}@127.0.0.1:{port}"
    if scheme == "http":
        sim = make_sim(**SIM)
        env = {"HTTP_PROXY": proxy}
    else:
        sim = tls_sim
        env = {"HTTPS_PROXY": proxy, "REQUESTS_CA_BUNDLE": str(TLS / "cert.pem")}
    api_url = sim.url.replace("127.0.0.1", "localhost")
    run = tap.run(
        login_config(api_url, TASKS, max_retries=1), env=env, extra_secrets=[PROXY_PASSWORD]
    )
    line = assert_one_clear_error(
        run, f"the proxy http://127.0.0.1:{port} failed", "HTTPS_PROXY / HTTP_PROXY", "NO_PROXY"
    )
    assert "robot" not in run.stderr, "the proxy's user name was logged"
    assert "giving up after 2 attempts" in line
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
    lines = [line for line in run.stderr.splitlines() if "(Retry-After)" in line]
    assert len(lines) == 1, lines
    asked = re.search(r"asked to wait (\d+) s \(Retry-After\); the tap waits (\d+) s", lines[0])
    assert asked, lines[0]
    # An HTTP date has whole seconds, and so has the Date header it is measured against.
    assert abs(int(asked[1]) - 3600) <= 1 and asked[2] == "600", lines[0]
    assert long_sleeps, "the tap never waited"
    assert all(590 <= seconds <= 600 for seconds in long_sleeps), long_sleeps
    figures.update(asked_seconds=int(asked[1]), waited_seconds=[round(s) for s in long_sleeps])
