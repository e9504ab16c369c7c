"""ApiSession sends with the `verify` and proxies that `requests` would use (worked out once)."""

from __future__ import annotations

from unittest import mock

import pytest
import requests

from tap_centaur.session import ApiSession

PROXY_VARIABLES: tuple[str, ...] = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
PROXY_VARIABLES += tuple(name.lower() for name in PROXY_VARIABLES)
ENVIRONMENT = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", *PROXY_VARIABLES)
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


def sent(monkeypatch, env: dict[str, str], url: str, **settings: bool) -> None:
    """What an ApiSession hands its adapter for two requests to `url` once `settings` are set."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    for variable, text in env.items():
        monkeypatch.setenv(variable, text)
    session = ApiSession(url, 5, 1)
    session.hooks["response"].clear()  # nothing to read
    adapter = requests.adapters.HTTPAdapter()  # records what it was given, sends nothing
    monkeypatch.setattr(adapter, "send", mock.Mock(return_value=requests.Response()))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.send(session.prepare_request(requests.Request("GET", url)))  # before `settings`
    for name, value in settings.items():
        setattr(session, name, value)
    for verify in ({}, {"verify": None}):  # None, as for `Session.request`: the environment's
        session.send(session.prepare_request(requests.Request("GET", url)), **verify)
    plain = requests.Session()  # what `requests` itself uses (`Session.request`)
    plain.verify, plain.trust_env = session.verify, session.trust_env
    merged = plain.merge_environment_settings(url, {}, None, None, None)
    expected = {"verify": merged["verify"], "proxies": merged["proxies"]}
    given = [call.kwargs for call in adapter.send.call_args_list[1:]]  # type: ignore[attr-defined]
    assert [{k: kwargs[k] for k in expected} for kwargs in given] == [expected] * 2


@pytest.mark.parametrize("env", CASES)
@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("settings", [{}, {"verify": False}, {"trust_env": False}])
def test_verify_and_proxies_are_those_of_requests(monkeypatch, env, url, settings):
    sent(monkeypatch, {}, url, **settings)  # a session before: each one reads the environment
    sent(monkeypatch, env, url, **settings)
