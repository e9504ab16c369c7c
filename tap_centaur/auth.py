"""Authentication: the API key on every request, a bearer token from logging in, its renewal."""

from __future__ import annotations

import logging
import threading
import typing as t

import requests
from requests.auth import AuthBase

from tap_centaur.errors import (
    AuthenticationError,
    CentaurAPIError,
    LoginUnavailableError,
    RetriesExhaustedError,
    TapCentaurError,
    TransientResponseError,
    UnauthorizedError,
)
from tap_centaur.pages import body_excerpt, decode_json, error_body, request_label, server_message
from tap_centaur.redaction import register_secret
from tap_centaur.retry import raise_if_transient

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from tap_centaur.retry import RetryPolicy
    from tap_centaur.session import ApiSession
    from tap_centaur.settings import Credentials

LOGIN_PATH = "/auth/public/v1/login"
LOGOUT_PATH = "/auth/public/v1/logout"
#: Logins in a row whose tokens the API rejected before any request succeeded: per request,
#: and for the whole run (so the logins of a run are bounded whatever the parallelism).
MAX_RENEWALS = 3
LOGOUT_TIMEOUT = 10.0

R = t.TypeVar("R")
logger = logging.getLogger("tap-centaur")

_RENEW_HINT = (
    "Set username and api_password instead of bearer_token so the tap can log in again "
    "when a token expires."
)


class CentaurAuth(AuthBase):
    """Signs requests with `X-API-KEY` and `Authorization: Bearer`; logs in, renews, logs out.

    With username + API password it logs in before the first request and again after a
    401 (tokens expire after inactivity). With a fixed bearer token a 401 is final.
    Thread-safe: one login at a time serves every worker, and concurrent 401s on the same
    token lead to one login; after `MAX_RENEWALS` renewals in a row with no request served
    in between, the run stops (a login lockout is a real risk).
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        api_url: str,
        new_session: Callable[[], ApiSession],
        retry_policy: RetryPolicy,
    ) -> None:
        """Keep what logging in needs; do not call the API yet.

        Logging in and out use a session of their own (`new_session()`): the streams'
        sessions sign every request with this authenticator, which must not sign its login.
        """
        self._credentials = credentials
        self._api_url = api_url
        self._new_session = new_session
        self._session: ApiSession | None = None
        self._retry_policy = retry_policy
        self._lock = threading.Lock()
        self._token: str | None = credentials.bearer_token
        self._renewals_unused = 0  # renewals since the last request the API served
        register_secret(credentials.api_key)
        register_secret(credentials.api_password)
        register_secret(credentials.bearer_token)
        self.logins = 0

    def __repr__(self) -> str:
        """Never show the token."""
        return f"CentaurAuth({self._credentials!r}, logins={self.logins})"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Sign a request with the API key and the current token (logging in first if needed)."""
        request.headers["X-API-KEY"] = self._credentials.api_key
        request.headers["Authorization"] = f"Bearer {self.current_token()}"
        return request

    def current_token(self) -> str:
        """The token to use now; logs in on first use when the tap can."""
        token = self._token
        if token is None:
            with self._lock:
                if self._token is None:
                    self._token = self._login()
                token = self._token
        return token

    def send(self, request: requests.PreparedRequest, send: Callable[[], R]) -> R:
        """`send()` the request, logging in again and re-sending after each 401.

        Each rejected attempt gets one renewal. Parallel workers share the token, so a fresh
        token can expire again before a worker's retry is sent (the API expires tokens after
        inactivity); past `MAX_RENEWALS` consecutive rejections of one request, or of the run's
        requests (none served in between), the run stops.
        """
        for _ in range(MAX_RENEWALS):
            try:
                response = send()
            except UnauthorizedError:
                self._renew(_token_of(request), request_label(request))
            else:
                self._renewals_unused = 0
                return response
        try:
            return send()
        except UnauthorizedError:
            raise _rejected_anyway(request_label(request)) from None

    def logout(self) -> None:
        """End the session the run logged in for (best effort: a failure is a warning)."""
        token = self._token
        if not self.logins or token is None:
            return
        try:
            response = self._own_session().post(
                self._api_url + LOGOUT_PATH,
                headers={
                    "X-API-KEY": self._credentials.api_key,
                    "Authorization": f"Bearer {token}",
                },
                timeout=LOGOUT_TIMEOUT,
            )
        except (requests.RequestException, TapCentaurError) as exc:
            logger.warning(
                "Logging out failed (the token expires by itself): %s", type(exc).__name__
            )
            return
        if response.status_code != 200:
            logger.warning(
                "Logging out failed with HTTP %s (the token expires by itself).",
                response.status_code,
            )
        else:
            logger.debug("Logged out.")
        self._token = None

    def _renew(self, rejected_token: str | None, where: str) -> None:
        """Replace a token the API rejected (401); no-op if another thread already did.

        Raises:
            AuthenticationError: when the token is a fixed bearer_token, or the run's last
                `MAX_RENEWALS` tokens were rejected before serving a request.
        """
        if not self._credentials.can_login:
            raise AuthenticationError(
                f"{where}: the API rejected the bearer token (HTTP 401): it is invalid or has "
                f"expired after inactivity. {_RENEW_HINT}"
            )
        with self._lock:
            if self._token == rejected_token or self._token is None:
                if self._renewals_unused >= MAX_RENEWALS:
                    raise _rejected_anyway(where)
                self._token = self._login()
                self._renewals_unused += 1

    def _login(self) -> str:
        """POST the login endpoint, retrying transient failures, and return the token.

        Raises:
            LoginUnavailableError: when every retry failed, or the answer cannot be read (too
                large, not JSON): a failure of the run, not of the task that needed the token.
        """
        try:
            response = self._retry_policy.call(self._send_login, where="login")
            body = decode_json(response)
        except AuthenticationError:
            raise
        except (RetriesExhaustedError, TransientResponseError, CentaurAPIError) as error:
            raise LoginUnavailableError(str(error)) from error
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthenticationError(
                f"login: the API answered {response.status_code} without a token "
                f"({body_excerpt(response)})."
            )
        register_secret(token)
        if not (token.isascii() and token.isprintable()):
            raise AuthenticationError(
                f"login: the API answered {response.status_code} with a token that no HTTP "
                "header can carry (a control or non-ASCII character); it is not shown. Report "
                "it to Centaur Labs support."
            )
        self.logins += 1
        return token

    def _own_session(self) -> ApiSession:
        if self._session is None:
            self._session = self._new_session()
        return self._session

    def _send_login(self) -> requests.Response:
        response = self._own_session().post(
            self._api_url + LOGIN_PATH,
            json={
                "username": self._credentials.username,
                "api_password": self._credentials.api_password,
            },
            headers={"X-API-KEY": self._credentials.api_key},
            timeout=self._retry_policy.request_timeout,
        )
        raise_if_transient(response, "login", self._retry_policy)
        if response.status_code != 200:
            raise AuthenticationError(_login_refusal(response))
        return response


def _rejected_anyway(where: str) -> AuthenticationError:
    return AuthenticationError(
        f"{where}: the API answered 401 even with a fresh token ({MAX_RENEWALS} logins in a "
        "row). Check that api_key belongs to the same organisation as username."
    )


def _token_of(request: requests.PreparedRequest) -> str | None:
    """The token a request was sent with."""
    header = request.headers.get("Authorization", "")
    return header.removeprefix("Bearer ") or None


def _login_refusal(response: requests.Response) -> str:
    status = response.status_code
    message = server_message(response, with_code=False)
    if status == 403 and error_body(response).get("code") == "restricted_country":
        return (
            f"login: the API refused access (HTTP 403 restricted_country: {message}). "
            "Centaur restricts API access by country; run the tap from an allowed location."
        )
    if status in (400, 401):
        return (
            f"login: the API rejected the credentials (HTTP {status}: {message}). Check "
            "username (the portal account email), api_password (the API password, not the "
            "portal password; generating a new one invalidates the old) and api_key."
        )
    return f"login: unexpected HTTP {status}: {message}."
