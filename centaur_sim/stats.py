"""Counters of what the simulator served."""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Stats:
    """Requests by path and status, faults and misbehaviours by kind, logins, logouts, items.

    `records_served` counts case results only; task and project items count separately.
    `streamed_bytes`: what bodies without `Content-Length` (the `flood` fault) handed to their
    connection before it closed.
    """

    requests: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    faults: Counter[str] = field(default_factory=Counter)
    misbehaviours: Counter[str] = field(default_factory=Counter)
    logins: int = 0
    login_failures: int = 0
    logouts: int = 0
    records_served: int = 0
    catalog_items_served: int = 0
    streamed_bytes: int = 0

    def request(self, path: str, status: str, records: int) -> None:
        """Count one API request answered with `status` ("reset" when aborted)."""
        self.requests[path][status] += 1
        self.records_served += records

    def snapshot(self) -> dict[str, Any]:
        """Return the counters as JSON-ready data."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["requests"] = {path: dict(by_status) for path, by_status in self.requests.items()}
        data["total_requests"] = sum(sum(c.values()) for c in self.requests.values())
        return {**data, "faults": dict(self.faults), "misbehaviours": dict(self.misbehaviours)}
