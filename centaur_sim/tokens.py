"""Bearer tokens issued by login: usage counting, idle expiry, revocation."""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Session:
    used: int
    last_used: float


class TokenStore:
    """Live session tokens; a configured static token is always accepted and never expires."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        """Start with no sessions; `monotonic` measures idleness."""
        self._monotonic = monotonic
        self._sessions: dict[str, _Session] = {}
        self.expired = 0

    def issue(self) -> str:
        """Create a new session token."""
        token = secrets.token_urlsafe(32)
        self._sessions[token] = _Session(used=0, last_used=self._monotonic())
        return token

    def use(
        self,
        token: str,
        static_token: str | None,
        max_requests: int | None,
        idle_seconds: float | None,
    ) -> bool:
        """Count one authenticated request with `token`; False when it is unknown or expired."""
        if static_token is not None and same(token, static_token):
            return True
        session = self._sessions.get(token)
        if session is None:
            return False
        now = self._monotonic()
        if (idle_seconds is not None and now - session.last_used > idle_seconds) or (
            max_requests is not None and session.used >= max_requests
        ):
            self.revoke(token)
            self.expired += 1
            return False
        session.used += 1
        session.last_used = now
        return True

    def revoke(self, token: str) -> None:
        """Invalidate a session token (no-op for unknown or static tokens)."""
        self._sessions.pop(token, None)

    def revoke_all(self) -> int:
        """Invalidate every session token; return how many there were."""
        count = len(self._sessions)
        self._sessions.clear()
        return count

    def __len__(self) -> int:
        """Return the number of live session tokens."""
        return len(self._sessions)


def same(given: str, expected: str) -> bool:
    """Compare secrets in constant time (any characters)."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )
