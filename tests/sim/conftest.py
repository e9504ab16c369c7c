"""Sessions and walks for the simulator's own tests, with the suite's credentials.

The simulators come from the suite's `make_sim` and `sim` fixtures (tests/conftest.py); a
test that needs other data passes its overrides to `make_sim`.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from centaur_sim import Simulator
from tests.harness import LIST
from tests.sim.helpers import KEY_HEADER, LoginToken, NewSession, Page, Walk, login


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
    s.headers.update(KEY_HEADER)
    if login:
        s.headers["Authorization"] = f"Bearer {_login_token(sim)}"
    return s


def _login_token(sim: Simulator) -> str:
    r = login(sim)
    assert r.status_code == 200, r.text
    token: str = r.json()["token"]
    return token


def _walk(
    s: requests.Session,
    url: str,
    max_pages: int = 1000,
    path: str = LIST,
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
