"""Authentication: the API key on every request, and a bearer token obtained by logging in."""

from __future__ import annotations

import threading
import typing as t

import requests
from requests.auth import AuthBase

from tap_centaur.errors import AuthenticationError, TransientResponseError
from tap_centaur.pages import body_excerpt, decode_json
from tap_centaur.redaction import register_secret
from tap_centaur.retry import RetryPolicy

if t.TYPE_CHECKING:
    from tap_centaur.settings import Credentials

LOGIN_PATH = "/auth/public/v1/login"

_RENEW_HINT = (
    "Set username and api_password instead of bearer_token so the tap can log in again "
    "when a token expires."
)


class CentaurAuthenticator(AuthBase):
    """Adds `X-API-KEY` and `Authorization: Bearer` to each request; renews the token.

    With username + API password it logs in before the first request and again after a
    401 (tokens expire after inactivity). With a fixed bearer token a 401 is final.
    Thread-safe: concurrent 401s on the same token lead to one login.
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        api_url: str,
        timeout: float,
        retry_policy: RetryPolicy,
        user_agent: str,
    ) -> None:
        """Keep what logging in needs; do not call the API yet."""
        self._credentials = credentials
        self._login_url = api_url + LOGIN_PATH
        self._timeout = timeout
        self._retry_policy = retry_policy
        self._user_agent = user_agent
        self._lock = threading.Lock()
        self._token: str | None = credentials.bearer_token
        self._session = requests.Session()
        self.logins = 0

    def __repr__(self) -> str:
        """Never show the token."""
        return f"CentaurAuthenticator({self._credentials!r}, logins={self.logins})"

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

    def token_of(self, request: requests.PreparedRequest) -> str | None:
        """The token a request was sent with."""
        header = request.headers.get("Authorization", "")
        return header.removeprefix("Bearer ") or None

    def renew(self, rejected_token: str | None, where: str) -> None:
        """Replace a token the API rejected (401); no-op if another thread already did.

        Raises:
            AuthenticationError: when the token is a fixed bearer_token.
        """
        if not self._credentials.can_login:
            raise AuthenticationError(
                f"{where}: the API rejected the bearer token (HTTP 401): it is invalid or has "
                f"expired after inactivity. {_RENEW_HINT}"
            )
        with self._lock:
            if self._token == rejected_token or self._token is None:
                self._token = self._login()

    def _login(self) -> str:
        """POST the login endpoint, retrying transient failures, and return the token."""
        response = self._retry_policy.call(self._send_login, where="login")
        body = decode_json(response)
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthenticationError(
                f"login: the API answered {response.status_code} without a token "
                f"({body_excerpt(response)})."
            )
        register_secret(token)
        self.logins += 1
        return token

    def _send_login(self) -> requests.Response:
        response = self._session.post(
            self._login_url,
            json={
                "username": self._credentials.username,
                "api_password": self._credentials.api_password,
            },
            headers={"X-API-KEY": self._credentials.api_key, "User-Agent": self._user_agent},
            timeout=self._timeout,
        )
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientResponseError(
                f"login: HTTP {status}",
                status=status,
                retry_after=self._retry_policy.retry_after(response),
            )
        if status != 200:
            raise AuthenticationError(_login_refusal(response))
        return response


def _login_refusal(response: requests.Response) -> str:
    status = response.status_code
    try:
        body = decode_json(response)
    except TransientResponseError:
        body = None
    message = body.get("message") if isinstance(body, dict) else None
    code = body.get("code") if isinstance(body, dict) else None
    server_says = f": {message}" if message else ""
    if status == 403 and code == "restricted_country":
        return (
            f"login: the API refused access (HTTP 403 restricted_country{server_says}). "
            "Centaur restricts API access by country; run the tap from an allowed location."
        )
    if status in (400, 401):
        return (
            f"login: the API rejected the credentials (HTTP {status}{server_says}). Check "
            "username (the portal account email), api_password (the API password, not the "
            "portal password; generating a new one invalidates the old) and api_key."
        )
    return f"login: unexpected HTTP {status}{server_says}."
