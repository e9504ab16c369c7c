"""Bearer tokens issued by login: usage counting and revocation."""

from __future__ import annotations

import hmac
import secrets


class TokenStore:
    """Live session tokens and how many requests each has made.

    A configured static token is always accepted and never expires.
    """

    def __init__(self) -> None:
        """Start with no sessions."""
        self._used: dict[str, int] = {}
        self.expired = 0

    def issue(self) -> str:
        """Create a new session token."""
        token = secrets.token_urlsafe(32)
        self._used[token] = 0
        return token

    def use(self, token: str, static_token: str | None, max_requests: int | None) -> bool:
        """Count one authenticated request with `token`; False when it is unknown or expired."""
        if static_token is not None and same(token, static_token):
            return True
        used = self._used.get(token)
        if used is None:
            return False
        if max_requests is not None and used >= max_requests:
            self.revoke(token)
            self.expired += 1
            return False
        self._used[token] = used + 1
        return True

    def revoke(self, token: str) -> None:
        """Invalidate a session token (no-op for unknown or static tokens)."""
        self._used.pop(token, None)

    def revoke_all(self) -> int:
        """Invalidate every session token; return how many there were."""
        count = len(self._used)
        self._used.clear()
        return count

    def __len__(self) -> int:
        """Return the number of live session tokens."""
        return len(self._used)


def same(given: str, expected: str) -> bool:
    """Compare secrets in constant time (any characters)."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )
