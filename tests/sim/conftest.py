"""Fixtures for the simulator's own tests: started simulators on free ports, sessions, walks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from centaur_sim import SimConfig, Simulator
from tests.sim.helpers import LoginToken, MakeSim, NewSession, Page, Walk

API_KEY = "demo-api-key"
CREDENTIALS = {"username": "demo@example.com", "api_password": "demo-api-password"}


@pytest.fixture
def make_sim() -> Iterator[MakeSim]:
    """Factory: `make_sim(**config)` starts a simulator (port 0, 3x30 cases)."""
    started: list[Simulator] = []

    def make(**overrides: Any) -> Simulator:
        sim = Simulator(SimConfig(**{"port": 0, "tasks": 3, "cases": 30, **overrides}))
        sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: MakeSim) -> Simulator:
    """A simulator with default settings: tasks 101-103 (103 is a box task) of 30 cases."""
    return make_sim()


@pytest.fixture
def client(sim: Simulator) -> requests.Session:
    """A logged-in session against `sim`."""
    return _session(sim)


@pytest.fixture
def new_session() -> NewSession:
    """Factory: `new_session(sim, login=True)` -> session with API key (and token)."""
    return _session


@pytest.fixture
def login_token() -> LoginToken:
    """Factory: `login_token(sim)` -> a fresh session token."""
    return _login_token


@pytest.fixture
def walk() -> Walk:
    """Factory: `walk(session, url, path=..., **params)` follows list pages -> (items, pages)."""
    return _walk


def _session(sim: Simulator, *, login: bool = True) -> requests.Session:
    s = requests.Session()
    s.headers["X-API-KEY"] = API_KEY
    if login:
        s.headers["Authorization"] = f"Bearer {_login_token(sim)}"
    return s


def _login_token(sim: Simulator) -> str:
    r = requests.post(
        sim.url + "/auth/public/v1/login",
        json=CREDENTIALS,
        headers={"X-API-KEY": API_KEY},
        timeout=5,
    )
    assert r.status_code == 200, r.text
    token: str = r.json()["token"]
    return token


def _walk(
    s: requests.Session,
    url: str,
    max_pages: int = 1000,
    path: str = "/results/public/v1/list",
    **params: Any,
) -> tuple[list[Page], list[Page]]:
    records: list[Page] = []
    pages: list[Page] = []
    query = dict(params)
    for _ in range(max_pages):
        r = s.get(url + path, params=query, timeout=5)
        assert r.status_code == 200, r.text
        page: Page = r.json()
        pages.append(page)
        records.extend(page["payload"])
        if page.get("has_next") is not True:
            return records, pages
        query["last_sequence_id"] = page["last_sequence_id"]
    raise AssertionError("pagination did not end")
