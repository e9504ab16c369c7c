"""ApiSession sends with the `verify` and proxies that `requests` itself would use.

It works them out once per host instead of reading the whole environment several times per
request; these tests pin that the outcome is the same as `requests`' for each environment.
"""

from __future__ import annotations

import pytest
import requests
from requests.utils import resolve_proxies

from tap_centaur.session import ApiSession

ENVIRONMENT = (
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
)
PROXY = "http://proxy.invalid:3128"
CASES = [
    {},
    {"REQUESTS_CA_BUNDLE": "/x/ca.pem"},
    {"CURL_CA_BUNDLE": "/y/ca.pem"},
    {"REQUESTS_CA_BUNDLE": "", "CURL_CA_BUNDLE": "/y/ca.pem"},
    {"REQUESTS_CA_BUNDLE": "/x/ca.pem", "CURL_CA_BUNDLE": "/y/ca.pem"},
    {"HTTP_PROXY": PROXY, "HTTPS_PROXY": PROXY},
    {"HTTP_PROXY": PROXY, "HTTPS_PROXY": PROXY, "NO_PROXY": "127.0.0.1,api.example.com"},
    {"http_proxy": PROXY, "no_proxy": "example.org"},
    {"ALL_PROXY": "socks5://proxy.invalid:1080", "NO_PROXY": "api.example.com:443"},
]
URLS = [
    "http://127.0.0.1:8765/results/public/v1/list?task_id=101",
    "https://api.example.com/results/public/v1/list?task_id=101",
    "https://api.example.com:443/tasks/public/v1/list",
]


class Sent(Exception):
    """Raised by the recording adapter instead of sending anything."""


class Recording(requests.adapters.HTTPAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.kwargs: list[dict[str, object]] = []

    def send(self, request, **kwargs):  # type: ignore[override]
        self.kwargs.append(kwargs)
        raise Sent


def expected(session: ApiSession, prepared: requests.PreparedRequest) -> tuple[object, object]:
    """What the session sent before: `merge_environment_settings`'s verify, `send`'s proxies."""
    plain = requests.Session()
    plain.verify, plain.trust_env, plain.proxies = session.verify, session.trust_env, {}
    plain.proxies.update(session.proxies)
    verify = plain.merge_environment_settings(prepared.url, {}, None, None, None)["verify"]
    return verify, resolve_proxies(prepared, plain.proxies, plain.trust_env)


@pytest.mark.parametrize("env", CASES)
@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("settings", [{}, {"verify": False}, {"trust_env": False}])
def test_verify_and_proxies_are_those_of_requests(monkeypatch, env, url, settings):
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    session = ApiSession(url, 5, 1)
    for name, value in settings.items():
        setattr(session, name, value)
    adapter = Recording()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    prepared = session.prepare_request(requests.Request("GET", url))
    for _ in range(2):  # the second time from what was worked out the first
        with pytest.raises(Sent):
            session.send(prepared)
    verify, proxies = expected(session, prepared)
    for sent in adapter.kwargs:
        assert (sent["verify"], sent["proxies"]) == (verify, proxies)


def test_a_new_session_reads_the_environment_again(monkeypatch):
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    url = URLS[1]
    seen = []
    for proxy in ("http://one.invalid:1", "http://two.invalid:2"):
        monkeypatch.setenv("HTTPS_PROXY", proxy)
        session = ApiSession(url, 5, 1)
        adapter = Recording()
        session.mount("https://", adapter)
        with pytest.raises(Sent):
            session.send(session.prepare_request(requests.Request("GET", url)))
        seen.append(adapter.kwargs[0]["proxies"])
    assert seen == [{"https": "http://one.invalid:1"}, {"https": "http://two.invalid:2"}]
