"""HTTP details (gzip, keep-alive, latency, TLS, stopping) and the command line."""

from __future__ import annotations

import dataclasses
import gzip
import http.client
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from centaur_sim import SimConfig, Simulator
from centaur_sim.cli import build, main, parser
from tests.harness import LIST, SimFactory, sim_config
from tests.sim.helpers import HEADERS, Client

TLS = Path(__file__).resolve().parent / "tls"
CERT, KEY = str(TLS / "cert.pem"), str(TLS / "key.pem")


def test_gzip_keep_alive_and_headers(make_sim: SimFactory) -> None:
    sim = make_sim(tasks=1, cases=30)
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    for target, encoding in [(f"{LIST}?task_id=101&limit=5", "gzip")] * 2 + [("/x", "gzip")]:
        conn.request("GET", target, headers={**HEADERS, "Accept-Encoding": encoding})
        response = conn.getresponse()  # one connection, several requests
        body = response.read()
        assert (response.version, response.getheader("Content-Encoding")) == (11, "gzip")
        assert response.getheader("Date") and response.getheader("Server") == "centaur-sim/1.0"
        assert int(response.getheader("Content-Length") or -1) == len(body)
    assert json.loads(gzip.decompress(body)) == {"message": "Not Found"}
    conn.close()
    assert Client(sim).call(task_id=101).headers["Content-Encoding"] == "gzip"  # asked for
    sim.set(gzip=False)
    assert "Content-Encoding" not in Client(sim).call(task_id=101).headers
    assert Client(sim).page(task_id=101)["payload"] == sim.truth(101)


def test_latency_counts_from_reading_the_request(
    sim: Simulator, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer goes out 150 ms after the request was read, the simulator's work included."""
    slept: list[float] = []
    monkeypatch.setattr("centaur_sim.server.time.sleep", slept.append)
    sim.set(latency_ms=150)
    client.call(task_id=101, limit=1000)
    assert len(slept) == 1
    assert 0 < slept[0] < 0.15


def test_stop_closes_everything_and_is_idempotent(make_sim: SimFactory) -> None:
    sim = make_sim()
    client = Client(sim)
    assert client.call(task_id=101).status_code == 200  # a keep-alive connection
    url = sim.url
    sim.stop()
    with pytest.raises(requests.ConnectionError):
        client.get(url + LIST, params={"task_id": 101}, timeout=2)
    with pytest.raises(RuntimeError):
        _ = sim.url
    sim.stop()
    with Simulator(sim_config(cases=1)) as again:
        assert requests.get(again.url + "/x", timeout=5).status_code == 404


def test_faults_over_https(make_sim: SimFactory) -> None:
    """The tap's runs over HTTPS: tests/reliability/test_transport.py."""
    sim = make_sim(tasks=1, cases=30, tls_certfile=CERT, tls_keyfile=KEY)
    sim.script_faults([{"kind": "reset"}, {"kind": "truncate"}])
    for error in (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
        with pytest.raises(error):
            Client(sim).get(sim.url + LIST, params={"task_id": 101}, verify=CERT, timeout=5)
    with pytest.raises(ValueError, match="tls_keyfile needs tls_certfile"):
        SimConfig(tls_keyfile=KEY)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_command_line_serves_until_signalled(sig: signal.Signals) -> None:
    argv = "--port 0 --tasks 2 --cases 5,7 --static-token tok --fault 429:1 --retry-after 0"
    command = [sys.executable, "-m", "centaur_sim", *argv.split()]
    root = Path(__file__).resolve().parents[2]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=root) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line.startswith("centaur-sim listening on http://127.0.0.1:")
            url = line.rsplit(" ", 1)[1]
            headers = {"X-API-KEY": "demo-api-key", "Authorization": "Bearer tok"}
            r = requests.get(url + LIST, params={"task_id": 101}, headers=headers, timeout=5)
            assert r.status_code == 429  # the flags: tested by test_every_config_field_is_a_flag
            process.send_signal(sig)
            assert process.wait(timeout=10) == 0
        finally:
            process.kill()


def test_every_config_field_is_a_flag() -> None:
    assert build(parser().parse_args([])).config == SimConfig(port=8765)
    flags = {a.dest: a.option_strings for a in parser()._actions}
    assert {f.name for f in dataclasses.fields(SimConfig)} <= set(flags)
    argv = "--port 0 --tasks 2 --first-task-id 7 --cases 3,4 --page-size 50 --max-limit 2000"
    argv += " --latency-ms 12.5 --seed 9 --api-key k --username u --api-password p --no-gzip"
    argv += " --unsupported-task 7 --unsupported-task 8 --date-offset-seconds -30.5"
    argv += " --last-page-style false --token-expiry-requests 4 --record-requests"
    argv += " --fault 503:2:/results/ --fault stall --misbehaviour 7=v2_shape"
    sim = build(parser().parse_args(argv.split()))
    expected = SimConfig(
        port=0, tasks=2, first_task_id=7, cases=(3, 4), page_size=50, max_limit=2000,
        latency_ms=12.5, seed=9, api_key="k", username="u", api_password="p", gzip=False,
        unsupported_task_ids=(7, 8), date_offset_seconds=-30.5, last_page_style="false",
        token_expiry_requests=4, record_requests=True,
    )  # fmt: skip
    assert sim.config == expected
    script = [(f["kind"], f["count"], f["path"]) for f in sim.pending_faults()["script"]]
    assert script == [("503", 2, "/results/"), ("stall", 1, None)]
    assert sim.misbehaviours == {7: "v2_shape"}
    for bad in ("--last-page-style sometimes", "--tasks 2 --cases 1,2,3", "--misbehaviour 1=x"):
        with pytest.raises(SystemExit) as exit_:
            main(bad.split())
        assert exit_.value.code == 2
