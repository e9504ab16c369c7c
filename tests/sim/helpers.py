"""The suite's credentials as the simulator's API takes them, a login, and the fixtures' types."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import requests

from centaur_sim import Simulator
from tests.harness import API_KEY, API_PASSWORD, LOGIN, USERNAME

#: The API key header every API request carries.
KEY_HEADER = {"X-API-KEY": API_KEY}
#: The body of a login with the suite's username and API password.
CREDS = {"username": USERNAME, "api_password": API_PASSWORD}
#: The leading fields of a v1 record and of a v2 item, in this order.
CASE_FIELDS = ["task_id", "task_name", "project_id", "project_name", "case_id", "task_type"]


def auth_headers(token: str) -> dict[str, str]:
    """The API key and a bearer token: the headers of an authorised request."""
    return {**KEY_HEADER, "Authorization": f"Bearer {token}"}


def login(
    sim: Simulator, body: Any = CREDS, headers: Mapping[str, str] = KEY_HEADER, **kwargs: Any
) -> requests.Response:
    """POST a login to `sim`: the suite's credentials unless `body` or `headers` say otherwise."""
    return requests.post(sim.url + LOGIN, json=body, headers=dict(headers), timeout=5, **kwargs)


Page = dict[str, Any]
NewSession = Callable[..., requests.Session]
LoginToken = Callable[[Simulator], str]
Walk = Callable[..., tuple[list[Page], list[Page]]]
