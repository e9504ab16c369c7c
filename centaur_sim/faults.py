"""Fault selection: a scripted queue consumed in order, then seeded random rates."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from centaur_sim.config import (
    FAULT_KINDS,
    REDIRECT_STATUSES,
    SCRIPTED_KINDS,
    SIZED_KINDS,
    validate_rates,
)


@dataclass
class ScriptedFault:
    """`count` faults of `kind` for requests whose path starts with `path` (and `task_id`).

    A `redirect` answers `status` (default 307) with `Location: location` (default: the
    request's own path and query). An `answer` answers `status` (default 400) with the reason
    phrase `reason` (default the standard one; any text, control characters included) and
    `body`, which may echo the request's API key (see `messages.echoing`). `size`: the bytes of
    a `gzip_bomb` (once inflated) or a `flood` (default 1 GiB), the levels of nesting of a
    `deep_json` (default 5,000).
    """

    kind: str
    count: int = 1
    path: str | None = None
    task_id: int | None = None
    status: int | None = None
    location: str | None = None
    reason: str | None = None
    body: str | None = None
    size: int | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> ScriptedFault:
        """Build from `{"kind": K, "count": n, "path": prefix, "task_id": id, ...}`."""
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        fault = cls(
            kind=str(data.get("kind")),
            count=int(data.get("count", 1)),
            path=data.get("path"),
            task_id=None if data.get("task_id") is None else int(data["task_id"]),
            status=None if data.get("status") is None else int(data["status"]),
            location=None if data.get("location") is None else str(data["location"]),
            reason=None if data.get("reason") is None else str(data["reason"]),
            body=None if data.get("body") is None else str(data["body"]),
            size=None if data.get("size") is None else int(data["size"]),
        )
        if fault.kind not in FAULT_KINDS + SCRIPTED_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS + SCRIPTED_KINDS}")
        if fault.count < 1:
            raise ValueError("fault count must be >= 1")
        if fault.kind != "redirect" and fault.location is not None:
            raise ValueError("location is a field of redirect faults only")
        if fault.kind != "answer" and (fault.reason, fault.body) != (None, None):
            raise ValueError("reason and body are fields of answer faults only")
        if fault.kind not in ("redirect", "answer") and fault.status is not None:
            raise ValueError("status is a field of redirect and answer faults only")
        if fault.size is not None and (fault.kind not in SIZED_KINDS or fault.size < 1):
            raise ValueError(f"size is a positive field of {', '.join(SIZED_KINDS)} faults only")
        if fault.kind == "redirect" and fault.status not in (None, *REDIRECT_STATUSES):
            raise ValueError(f"redirect status must be one of {REDIRECT_STATUSES}")
        if fault.status is not None and not 100 <= fault.status <= 599:
            raise ValueError("status must be in 100..599")
        return fault

    def matches(self, path: str, task_id: int | None, by_default: bool) -> bool:
        """Tell whether a request is a target; without `path`, only default targets are."""
        on_path = by_default if self.path is None else path.startswith(self.path)
        return on_path and (self.task_id is None or self.task_id == task_id)


class FaultPlan:
    """Decides which fault, if any, a request gets."""

    def __init__(self, rates: Mapping[str, float] | None = None, seed: int = 0) -> None:
        """Start with an empty script and the given random `rates`."""
        self._script: list[ScriptedFault] = []
        self._rates: dict[str, float] = {}
        self._rng = random.Random(seed)  # noqa: S311 - simulated data
        self.set_rates(rates or {}, seed)

    def script(self, faults: Iterable[Mapping[str, Any]]) -> None:
        """Append scripted faults to the queue."""
        self._script.extend([ScriptedFault.parse(item) for item in faults])

    def set_rates(self, rates: Mapping[str, float], seed: int | None = None) -> None:
        """Replace the random fault rates; reseed the generator when `seed` is given."""
        validate_rates(rates)
        self._rates = {kind: float(rates[kind]) for kind in FAULT_KINDS if rates.get(kind)}
        if seed is not None:
            self._rng.seed(seed)

    def clear(self) -> None:
        """Drop the script and all rates."""
        self._script.clear()
        self._rates.clear()

    def describe(self) -> dict[str, Any]:
        """Return the pending script and the rates."""
        return {"script": [asdict(f) for f in self._script], "rates": dict(self._rates)}

    def draw(self, path: str, task_id: int | None, by_default: bool) -> ScriptedFault | None:
        """Return the fault for this request, consuming scripted faults first.

        Args:
            path: request path (scripted `path` prefixes match any API path).
            task_id: the request's task id, if any.
            by_default: whether this endpoint gets faults that name no path, and random ones.
        """
        for i, fault in enumerate(self._script):
            if fault.matches(path, task_id, by_default):
                fault.count -= 1
                if fault.count == 0:
                    del self._script[i]
                return fault
        if by_default and self._rates:
            draw, total = self._rng.random(), 0.0
            for kind, rate in self._rates.items():
                total += rate
                if draw < total:
                    return ScriptedFault(kind)
        return None
