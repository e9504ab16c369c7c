"""A session bound to one simulator, with the suite's API key and static token."""

from __future__ import annotations

from typing import Any

import requests

from centaur_sim import Simulator
from tests.harness import API_KEY, API_PASSWORD, LIST, LOGIN, STATIC_TOKEN, USERNAME

V2_LIST = "/results/public/v2/list"
TASKS, PROJECTS = "/tasks/public/v1/list", "/projects/public/v1/list"
KEY = {"X-API-KEY": API_KEY}
HEADERS = {**KEY, "Authorization": f"Bearer {STATIC_TOKEN}"}
CREDS = {"username": USERNAME, "api_password": API_PASSWORD}
Page = dict[str, Any]


def login(sim: Simulator, body: object = CREDS, **kwargs: Any) -> requests.Response:
    """POST a login to `sim` with the API key (the suite's credentials unless `body` differs)."""
    kwargs.setdefault("headers", KEY)
    return requests.post(sim.url + LOGIN, json=body, timeout=5, **kwargs)


class Client(requests.Session):
    """A session to `sim`'s URL; `headers` default to the API key and the static token."""

    def __init__(self, sim: Simulator, headers: dict[str, str] = HEADERS) -> None:
        super().__init__()
        self.sim = sim
        self.headers.update(headers)

    @classmethod
    def logged_in(cls, sim: Simulator) -> Client:
        return cls(sim, {**KEY, "Authorization": f"Bearer {login(sim).json()['token']}"})

    def call(self, path: str = LIST, method: str = "GET", **params: Any) -> requests.Response:
        return self.request(method, self.sim.url + path, params=params, timeout=5)

    def page(self, path: str = LIST, **params: Any) -> Page:
        r = self.call(path, **params)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def walk(self, path: str = LIST, **params: Any) -> tuple[list[Any], list[Page]]:
        """Follow `last_sequence_id` while `has_next` is true -> (items, pages)."""
        items: list[Any] = []
        pages: list[Page] = []
        while len(pages) < 1000:
            pages.append(self.page(path, **params))
            items.extend(pages[-1]["payload"])
            if pages[-1].get("has_next") is not True:
                return items, pages
            params["last_sequence_id"] = pages[-1]["last_sequence_id"]
        raise AssertionError("pagination did not end")
