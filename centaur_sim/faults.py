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
)

#: The fields some kinds only have.
FIELDS_OF = {
    "location": ("redirect",),
    "reason": ("answer",),
    "body": ("answer",),
    "status": ("redirect", "answer"),
    "size": SIZED_KINDS,
}


@dataclass
class ScriptedFault:
    """`count` faults of `kind` for requests whose path starts with `path` (and `task_id`).

    The other fields belong to some kinds only (`FIELDS_OF`; what they mean: the README).
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
        types = {f.name: int if "int" in str(f.type) else str for f in fields(cls)}
        unknown = set(data) - set(types)
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        given: dict[str, Any] = {
            name: types[name](value) for name, value in data.items() if value is not None
        }
        fault = cls(**{"kind": "None", **given})
        if fault.kind not in FAULT_KINDS + SCRIPTED_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS + SCRIPTED_KINDS}")
        if fault.count < 1:
            raise ValueError("fault count must be >= 1")
        for name, kinds in FIELDS_OF.items():
            if name in given and fault.kind not in kinds:
                raise ValueError(f"{name} is a field of {', '.join(kinds)} faults only")
        if fault.kind == "redirect" and fault.status not in (None, *REDIRECT_STATUSES):
            raise ValueError(f"redirect status must be one of {REDIRECT_STATUSES}")
        if fault.status is not None and not 100 <= fault.status <= 599:
            raise ValueError("status must be in 100..599")
        if fault.size is not None and fault.size < 1:
            raise ValueError("size must be >= 1")
        return fault

    def matches(self, path: str, task_id: int | None, by_default: bool) -> bool:
        """Tell whether a request is a target; without `path`, only default targets are."""
        on_path = by_default if self.path is None else path.startswith(self.path)
        return on_path and (self.task_id is None or self.task_id == task_id)


class FaultPlan:
    """Decides which fault, if any, a request gets."""

    def __init__(self) -> None:
        """Start with an empty script and no random faults."""
        self._script: list[ScriptedFault] = []
        self._rates: dict[str, float] = {}
        self._rng = random.Random(0)  # noqa: S311 - simulated data

    def script(self, faults: Iterable[Mapping[str, Any]]) -> None:
        """Append scripted faults to the queue."""
        self._script.extend([ScriptedFault.parse(item) for item in faults])

    def set_rates(self, rates: Mapping[str, float], seed: int | None = None) -> None:
        """Replace the random fault rates; reseed the generator when `seed` is given."""
        unknown = ", ".join(sorted(set(rates) - set(FAULT_KINDS)))
        if unknown:
            raise ValueError(f"unknown fault kind(s) for random rates: {unknown}")
        if not (all(0 <= r <= 1 for r in rates.values()) and sum(rates.values()) <= 1):
            raise ValueError("fault rates must be in 0..1 and sum to at most 1")
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
