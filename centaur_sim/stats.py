"""Counters of what the simulator served."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any


class Stats:
    """Requests by path and status, faults and misbehaviours by kind, logins, logouts, items.

    `records_served` counts case results only; task and project items count separately.
    `streamed_bytes`: what bodies without `Content-Length` (the `flood` fault) handed to their
    connection before it closed.
    """

    def __init__(self) -> None:
        """Start from zero."""
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        self.requests: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.faults: Counter[str] = Counter()
        self.misbehaviours: Counter[str] = Counter()
        self.logins = 0
        self.login_failures = 0
        self.logouts = 0
        self.records_served = 0
        self.catalog_items_served = 0
        self.streamed_bytes = 0

    def request(self, path: str, status: str, records: int) -> None:
        """Count one API request answered with `status` ("reset" when aborted)."""
        self.requests[path][status] += 1
        self.records_served += records

    def snapshot(self) -> dict[str, Any]:
        """Return the counters as JSON-ready data."""
        return {
            "requests": {path: dict(by_status) for path, by_status in self.requests.items()},
            "total_requests": sum(sum(c.values()) for c in self.requests.values()),
            "faults": dict(self.faults),
            "misbehaviours": dict(self.misbehaviours),
            "logins": self.logins,
            "login_failures": self.login_failures,
            "logouts": self.logouts,
            "records_served": self.records_served,
            "catalog_items_served": self.catalog_items_served,
            "streamed_bytes": self.streamed_bytes,
        }
