"""Authentication: the API key on every request, a bearer token from logging in, its renewal."""

from __future__ import annotations

import logging
import threading
import typing as t

import requests
from requests.auth import AuthBase

from tap_centaur.errors import (
    AccessRefusedError,
    CentaurAPIError,
    RetriesExhaustedError,
    TapCentaurError,
    TransientResponseError,
    UnauthorizedError,
)
from tap_centaur.pages import body_excerpt, check_status, decode_json, request_label, server_message
from tap_centaur.redaction import register_secret

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from tap_centaur.retry import RetryPolicy
    from tap_centaur.session import ApiSession
    from tap_centaur.settings import Settings

LOGIN_PATH = "/auth/public/v1/login"
LOGOUT_PATH = "/auth/public/v1/logout"
#: Logins in a row whose tokens the API rejected, per request and per run (whatever the workers).
MAX_RENEWALS = 3

R = t.TypeVar("R")
logger = logging.getLogger("tap-centaur")


class CentaurAuth(AuthBase):
    """Signs requests with `X-API-KEY` and a bearer token; logs in, renews and logs out."""

    def __init__(self, settings: Settings, session: ApiSession, retry_policy: RetryPolicy) -> None:
        self._settings, self._session, self._retry_policy = settings, session, retry_policy
        self._lock = threading.Lock()  # concurrent 401s on one token: one login
        self._token: str | None = settings.bearer_token
        self._renewals_unused = 0  # renewals since the last request the API served
        self._logged_in = False
        for secret in (settings.api_key, settings.api_password, settings.bearer_token):
            register_secret(secret)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Sign a request with the API key and the current token (logging in first if needed)."""
        if self._token is None:
            with self._lock:
                if self._token is None:
                    self._token = self._login()
        request.headers.update(self._headers(self._token))
        return request

    def renewing(self, request: requests.PreparedRequest, send: Callable[[], R]) -> R:
        """`send()` the request, logging in again and re-sending after each 401 (`MAX_RENEWALS`)."""
        for renewals in range(MAX_RENEWALS + 1):
            try:
                response = send()
            except UnauthorizedError:
                if renewals < MAX_RENEWALS:
                    rejected = request.headers.get("Authorization", "").removeprefix("Bearer ")
                    self._renew(rejected or None, request_label(request))
            else:
                self._renewals_unused = 0
                return response
        raise _rejected_anyway(request_label(request))

    def logout(self) -> None:
        """End the session the run logged in for (best effort: a failure is a warning)."""
        token = self._token
        if not self._logged_in or token is None:
            return
        self._token = None
        try:
            response = self._session.post(
                self._session.api_url + LOGOUT_PATH, headers=self._headers(token), timeout=10.0
            )
            failure = "" if response.status_code == 200 else f"HTTP {response.status_code}"
        except (requests.RequestException, TapCentaurError) as exc:
            failure = type(exc).__name__
        if failure:
            logger.warning("Logging out failed with %s (the token expires by itself).", failure)
        else:
            logger.debug("Logged out.")

    def _headers(self, token: str | None) -> dict[str, str]:
        bearer = {} if token is None else {"Authorization": f"Bearer {token}"}
        return {"X-API-KEY": self._settings.api_key, **bearer}

    def _renew(self, rejected_token: str | None, where: str) -> None:
        if self._settings.username is None:  # a fixed bearer token
            raise AccessRefusedError(
                f"{where}: the API rejected the bearer token (HTTP 401): it is invalid or has "
                "expired after inactivity. Set username and api_password instead of "
                "bearer_token so the tap can log in again when a token expires."
            )
        with self._lock:
            if self._token == rejected_token or self._token is None:
                if self._renewals_unused >= MAX_RENEWALS:
                    raise _rejected_anyway(where)
                self._token = self._login()
                self._renewals_unused += 1

    def _login(self) -> str:
        """Log in (transient failures retried) and return the token; a failure stops the run."""

        def send() -> requests.Response:
            settings = self._settings
            response = self._session.post(
                self._session.api_url + LOGIN_PATH,
                json={"username": settings.username, "api_password": settings.api_password},
                headers=self._headers(None),
                timeout=self._session.timeout,
            )
            status = response.status_code
            if status in (400, 401, 422):
                raise AccessRefusedError(
                    f"login: the API rejected the credentials (HTTP {status}: "
                    f"{server_message(response)}). Check username (the portal account email), "
                    "api_password (the API password, not the portal password; generating a new "
                    "one invalidates the old) and api_key."
                )
            check_status(response, "login")
            return response

        try:
            response = self._retry_policy.call(send, where="login")
            body = decode_json(response)
        except (RetriesExhaustedError, TransientResponseError, CentaurAPIError) as error:
            raise TapCentaurError(str(error)) from error  # the run's failure, not one task's
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise AccessRefusedError(
                f"login: the API answered 200 without a token ({body_excerpt(response)})."
            )
        register_secret(token)
        if not (token.isascii() and token.isprintable()):
            raise AccessRefusedError(
                "login: the API answered 200 with a token that no HTTP header can carry (a control "
                "or non-ASCII character); it is not shown. Report it to Centaur Labs support."
            )
        self._logged_in = True
        return token


def _rejected_anyway(where: str) -> AccessRefusedError:
    return AccessRefusedError(
        f"{where}: the API answered 401 even with a fresh token ({MAX_RENEWALS} logins in a "
        "row). Check that api_key belongs to the same organisation as username."
    )
