"""The `Date` header: a configurable clock skew, and the `future_date` and `no_date` faults."""

from __future__ import annotations

import email.utils
import http.client
import time

import requests

from centaur_sim import Simulator
from tests.harness import LIST, SimFactory
from tests.sim.helpers import LoginToken, auth_headers, login

YEAR = 365 * 86400
#: How far a Date may be from the expected moment (one-second resolution plus a slow machine).
SLACK = 30


def _date(response: requests.Response) -> float:
    return email.utils.parsedate_to_datetime(response.headers["Date"]).timestamp()


def _list(client: requests.Session, sim: Simulator) -> requests.Response:
    r = client.get(sim.url + LIST, params={"task_id": 101}, timeout=5)
    assert r.status_code == 200
    return r


def test_date_follows_real_time_by_default(sim: Simulator, client: requests.Session) -> None:
    assert abs(_date(_list(client, sim)) - time.time()) < SLACK


def test_date_offset_shifts_api_and_control_answers(make_sim: SimFactory) -> None:
    sim = make_sim(date_offset_seconds=-7200)
    logged_in = login(sim)
    assert abs(_date(logged_in) - (time.time() - 7200)) < SLACK
    control = requests.get(sim.url + "/_sim/stats", timeout=5)
    assert abs(_date(control) - (time.time() - 7200)) < SLACK
    missing = requests.get(sim.url + "/nowhere", timeout=5)
    assert abs(_date(missing) - (time.time() - 7200)) < SLACK


def test_date_offset_is_a_runtime_setting_that_leaves_update_times_alone(
    sim: Simulator, client: requests.Session
) -> None:
    sim.set(date_offset_seconds=3 * 86400)
    assert abs(_date(_list(client, sim)) - (time.time() + 3 * 86400)) < SLACK
    before = time.time()
    changed = sim.update_cases(101, count=1, rng_seed=1)
    added = sim.add_cases(101, 1)
    after = time.time()
    rows = {row["case_id"]: row for row in sim.truth_meta(101)}
    for case_id in changed + added:
        assert before - 1e-6 <= rows[case_id]["updated_at"] <= after + 1e-6
    sim.set(date_offset_seconds=0)
    assert abs(_date(_list(client, sim)) - time.time()) < SLACK


def test_retry_after_http_date_is_on_the_shifted_clock(
    sim: Simulator, client: requests.Session
) -> None:
    sim.set(date_offset_seconds=-3600, retry_after=30, retry_after_style="http-date")
    sim.script_faults([{"kind": "429"}])
    r = client.get(sim.url + LIST, params={"task_id": 101}, timeout=5)
    assert r.status_code == 429
    retry_at = email.utils.parsedate_to_datetime(r.headers["Retry-After"]).timestamp()
    assert abs(retry_at - _date(r) - 30) <= 1


def test_future_date_answers_normally_a_year_ahead_once_per_count(
    sim: Simulator, client: requests.Session
) -> None:
    sim.script_faults([{"kind": "future_date", "count": 2}])
    shifted = [_list(client, sim) for _ in range(2)]
    normal = _list(client, sim)
    for r in shifted:
        assert abs(_date(r) - (time.time() + YEAR)) < SLACK
        assert r.json() == normal.json()
    assert abs(_date(normal) - time.time()) < SLACK
    assert sim.stats()["faults"] == {"future_date": 2}


def test_future_date_adds_to_the_offset(sim: Simulator, client: requests.Session) -> None:
    sim.set(date_offset_seconds=-86400)
    sim.script_faults([{"kind": "future_date"}])
    assert abs(_date(_list(client, sim)) - (time.time() + YEAR - 86400)) < SLACK


def test_no_date_drops_the_header_once(sim: Simulator, login_token: LoginToken) -> None:
    sim.script_faults([{"kind": "no_date"}])
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    headers = auth_headers(login_token(sim))
    dates = []
    for _ in range(2):
        conn.request("GET", f"{LIST}?task_id=101&limit=3", headers=headers)
        response = conn.getresponse()
        assert response.status == 200
        assert len(response.read()) == int(response.getheader("Content-Length") or -1)
        dates.append(response.getheader("Date"))
    conn.close()
    assert dates[0] is None
    assert dates[1] is not None
