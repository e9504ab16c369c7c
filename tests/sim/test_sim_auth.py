"""Login, tokens and the 401/403 answers of the simulator."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from centaur_sim import Simulator
from tests.harness import LIST, STATIC_TOKEN, USERNAME, SimFactory
from tests.sim.helpers import CREDS, KEY_HEADER, LoginToken, NewSession, auth_headers, login


def test_login_returns_documented_fields(sim: Simulator) -> None:
    r = login(sim)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {
        "token",
        "id",
        "email",
        "role",
        "name",
        "organization_id",
        "organization",
        "created_at",
    }
    assert body["email"] == USERNAME
    assert body["token"]
    assert sim.stats()["logins"] == 1


@pytest.mark.parametrize(
    ("headers", "body", "status", "message"),
    [
        (KEY_HEADER, {**CREDS, "api_password": "nope"}, 401, "Invalid username or password"),
        (KEY_HEADER, {**CREDS, "username": "x@example.com"}, 401, "Invalid username or password"),
        ({"X-API-KEY": "wrong"}, CREDS, 401, "Unauthorized"),
        ({}, CREDS, 401, "Unauthorized"),
        (KEY_HEADER, {"username": USERNAME}, 400, None),
        (KEY_HEADER, ["not", "an", "object"], 400, None),
    ],
)
def test_login_failures(
    sim: Simulator, headers: dict[str, str], body: Any, status: int, message: str | None
) -> None:
    r = login(sim, body, headers)
    assert r.status_code == status
    assert r.json()["message"] == (message or r.json()["message"])


def test_login_malformed_json_is_400(sim: Simulator) -> None:
    r = login(sim, body=None, data=b"{nope")
    assert r.status_code == 400
    assert "message" in r.json()


def test_results_need_api_key_and_live_bearer(sim: Simulator, login_token: LoginToken) -> None:
    token = login_token(sim)
    url = sim.url + LIST
    params = {"task_id": 101}
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.get(url, params=params, headers=auth, timeout=5).status_code == 401
    assert requests.get(url, params=params, headers=KEY_HEADER, timeout=5).status_code == 401
    bad = {**KEY_HEADER, "Authorization": "Bearer not-a-token"}
    r = requests.get(url, params=params, headers=bad, timeout=5)
    assert (r.status_code, r.json()) == (401, {"message": "Unauthorized"})
    wrong_key = {"X-API-KEY": "other", **auth}
    assert requests.get(url, params=params, headers=wrong_key, timeout=5).status_code == 401
    ok = requests.get(url, params=params, headers={**KEY_HEADER, **auth}, timeout=5)
    assert ok.status_code == 200


def test_logout_revokes_the_token(sim: Simulator, client: requests.Session) -> None:
    assert client.get(sim.url + LIST, params={"task_id": 101}, timeout=5).status_code == 200
    r = client.post(sim.url + "/auth/public/v1/logout", timeout=5)
    assert (r.status_code, r.json()) == (200, {"message": "Logged out"})
    assert client.get(sim.url + LIST, params={"task_id": 101}, timeout=5).status_code == 401
    assert client.post(sim.url + "/auth/public/v1/logout", timeout=5).status_code == 401
    stats = sim.stats()
    assert (stats["logouts"], stats["live_tokens"]) == (1, 0)


def test_removed_token_endpoints_are_unknown(sim: Simulator, client: requests.Session) -> None:
    for name in ("testToken", "refreshToken"):
        r = client.post(sim.url + "/auth/public/v1/" + name, timeout=5)
        assert (r.status_code, r.json()) == (404, {"message": "Not Found"})


def test_static_token_needs_no_login(make_sim: SimFactory) -> None:
    sim = make_sim(static_token=STATIC_TOKEN)
    headers = auth_headers(STATIC_TOKEN)
    for _ in range(3):
        r = requests.get(sim.url + LIST, params={"task_id": 101}, headers=headers, timeout=5)
        assert r.status_code == 200
    assert sim.stats()["logins"] == 0


def test_token_expires_after_n_requests(make_sim: SimFactory, new_session: NewSession) -> None:
    sim = make_sim(token_expiry_requests=3)
    s = new_session(sim)
    codes = [s.get(sim.url + LIST, params={"task_id": 101}).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 401, 401]
    assert sim.stats()["tokens_expired"] == 1
    s2 = new_session(sim)  # a new login gets a fresh allowance
    assert s2.get(sim.url + LIST, params={"task_id": 101}).status_code == 200


def test_expire_tokens_and_runtime_expiry_setting(sim: Simulator, client: requests.Session) -> None:
    assert sim.expire_tokens() == 1
    assert client.get(sim.url + LIST, params={"task_id": 101}).status_code == 401
    sim.set(token_expiry_requests=0)
    token = login(sim).json()["token"]
    client.headers["Authorization"] = f"Bearer {token}"
    assert client.get(sim.url + LIST, params={"task_id": 101}).status_code == 401


def test_restricted_country_answers_403_everywhere(make_sim: SimFactory) -> None:
    sim = make_sim(restricted_country=True)
    expected = {"message": "Access from your country is restricted", "code": "restricted_country"}
    r = login(sim)
    assert (r.status_code, r.json()) == (403, expected)
    r = requests.get(sim.url + LIST, params={"task_id": 101}, headers=KEY_HEADER, timeout=5)
    assert (r.status_code, r.json()) == (403, expected)
    sim.set(restricted_country=False)
    assert login(sim).status_code == 200


def test_password_rotation_invalidates_old_password(sim: Simulator) -> None:
    sim.set(api_password="rotated")
    assert login(sim).status_code == 401
    rotated = {**CREDS, "api_password": "rotated"}
    assert login(sim, rotated).status_code == 200
