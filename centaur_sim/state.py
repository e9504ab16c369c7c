"""The simulator's mutable state behind one lock, and the operations tests drive it with."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from centaur_sim.config import MISBEHAVIOURS, SimConfig
from centaur_sim.faults import FaultPlan
from centaur_sim.generate import Record
from centaur_sim.messages import Request
from centaur_sim.stats import Stats
from centaur_sim.store import CaseStore, Task
from centaur_sim.timefmt import to_micros
from centaur_sim.tokens import TokenStore


class SimCore:
    """Data, tokens, faults and counters of one simulated API; every method is thread-safe."""

    def __init__(
        self, config: SimConfig | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        """Generate the data described by `config`; `clock` gives update times (epoch float)."""
        self.lock = threading.RLock()
        self._config = config or SimConfig()
        self._clock = clock
        self.store = CaseStore(self._config)
        self.tokens = TokenStore()
        self.faults = FaultPlan(self._config.fault_rates, self._config.fault_seed)
        self.misbehaviours: dict[int, str] = {}
        self.counters = Stats()
        self._requests: list[dict[str, Any]] = []
        self._rng = random.Random(f"{self._config.seed}-changes")  # noqa: S311 - simulated data

    @property
    def config(self) -> SimConfig:
        """The configuration in force."""
        return self._config

    def set_clock(self, clock: Callable[[], float]) -> None:
        """Replace the clock that stamps updates (epoch seconds as float)."""
        with self.lock:
            self._clock = clock

    def now_us(self) -> int:
        """Return the clock's time in epoch microseconds."""
        return to_micros(self._clock())

    def task_ids(self) -> list[int]:
        """Return the ids of all tasks."""
        with self.lock:
            return sorted(self.store.tasks)

    def truth(self, task_id: int | None = None) -> list[Record]:
        """Return current case results (one task or all), in sequence order, as served."""
        with self.lock:
            expose = self._config.expose_updated_at
            return [json.loads(c.served(expose)) for t in self._tasks(task_id) for c in t.cases]

    def truth_v2(self, task_id: int | None = None) -> list[Record]:
        """Return current results-v2 items (one task or all), in sequence order, as served."""
        with self.lock:
            return [json.loads(c.v2(t.v2_notes)) for t in self._tasks(task_id) for c in t.cases]

    def truth_meta(self, task_id: int | None = None) -> list[dict[str, Any]]:
        """Return server-side facts per case: sequence id, update time, labeling state."""
        with self.lock:
            return [row for task in self._tasks(task_id) for row in self.store.describe(task)]

    def update_cases(
        self,
        task_id: int,
        case_ids: Iterable[int] | None = None,
        count: int | None = None,
        rng_seed: int | None = None,
        at: float | None = None,
    ) -> list[int]:
        """Give cases one more read and a new update time (`at`, else the clock's now).

        Picks `case_ids` if given, else `count` random cases (seeded by `rng_seed`), else every
        case of the task. Returns the changed case ids in sequence order.
        """
        with self.lock:
            task = self.store.task(task_id)
            rng = self._rng if rng_seed is None else random.Random(rng_seed)  # noqa: S311 - simulated data
            if case_ids is not None:
                chosen = list(case_ids)
            elif count is not None:
                if not 0 <= count <= len(task.cases):
                    raise ValueError(f"count must be in 0..{len(task.cases)}")
                picked = sorted(rng.sample(range(len(task.cases)), count))
                chosen = [task.cases[i].case_id for i in picked]
            else:
                chosen = [case.case_id for case in task.cases]
            return self.store.update(task_id, chosen, self._stamp(at), rng)

    def add_cases(self, task_id: int, count: int = 1, at: float | None = None) -> list[int]:
        """Append new cases (larger sequence ids) updated at `at` or now; return their ids."""
        if count < 0:
            raise ValueError("count must be >= 0")
        with self.lock:
            return self.store.add_cases(task_id, count, self._stamp(at), self._rng)

    def set_labeling_state(
        self, task_id: int, case_id: int, state: str, at: float | None = None
    ) -> None:
        """Move one case to a labeling state (an update: its update time moves too)."""
        with self.lock:
            self.store.set_state(task_id, case_id, state, self._stamp(at), self._rng)

    def add_task(
        self,
        task_id: int | None = None,
        cases: int = 0,
        *,
        task_type: str | None = None,
        name: str | None = None,
        unsupported: bool = False,
        extra_fields: bool = False,
        project_id: int | None = None,
        at: float | None = None,
    ) -> int:
        """Create a task (unsupported ones answer 426 on results, but are listed); return its id.

        It joins project `project_id` (created when unknown; by default the n-th task joins
        project 7000 + n // tasks_per_project), is created at `at` (else the clock's now) and
        comes last in the task list.
        """
        if cases < 0:
            raise ValueError("cases must be >= 0")
        with self.lock:
            task = self.store.add_task(
                task_id,
                cases,
                task_type=task_type,
                name=name,
                unsupported=unsupported,
                extra_fields=extra_fields,
                project_id=project_id,
                created_s=self._stamp(at) // 1_000_000,
            )
            return task.info.task_id

    def add_project(
        self, project_id: int | None = None, *, name: str | None = None, at: float | None = None
    ) -> int:
        """Create an empty project (next free id by default) created at `at` or now; its id."""
        with self.lock:
            created_s = self._stamp(at) // 1_000_000
            return self.store.add_project(project_id, name=name, created_s=created_s).project_id

    def tasks_truth(self, project_id: int | None = None) -> list[dict[str, Any]]:
        """Return the task items (of one project, or all) as the task list serves them."""
        with self.lock:
            return [
                task.item()
                for task in self.store.tasks.values()
                if project_id is None or task.info.project_id == project_id
            ]

    def projects_truth(self) -> list[dict[str, Any]]:
        """Return the project items as the project list serves them, in list order."""
        with self.lock:
            return [project.item() for project in self.store.projects.values()]

    def catalog_meta(self) -> dict[str, list[dict[str, int]]]:
        """Return the hidden sequence ids (list cursors) of tasks and projects, in list order."""
        with self.lock:
            return {
                "tasks": [
                    {"task_id": t.info.task_id, "sequence_id": t.seq}
                    for t in self.store.tasks.values()
                ],
                "projects": [
                    {"project_id": p.project_id, "sequence_id": p.seq}
                    for p in self.store.projects.values()
                ],
            }

    def script_faults(self, faults: Iterable[Mapping[str, Any]]) -> None:
        """Queue faults: `{"kind": K, "count": n, "path": prefix, "task_id": id}` each."""
        with self.lock:
            self.faults.script(faults)

    def set_fault_rates(self, rates: Mapping[str, float], seed: int | None = None) -> None:
        """Set random fault rates by kind (sum <= 1), optionally reseeding their generator."""
        with self.lock:
            self.faults.set_rates(rates, seed)

    def clear_faults(self) -> None:
        """Forget scripted faults and random rates."""
        with self.lock:
            self.faults.clear()

    def pending_faults(self) -> dict[str, Any]:
        """Return the scripted faults not yet consumed and the random rates."""
        with self.lock:
            return self.faults.describe()

    def set_misbehaviour(self, task_id: int, kind: str | None) -> None:
        """Make list pages of a task misbehave as `kind` (see `misbehave`); None restores."""
        with self.lock:
            self.store.task(task_id)
            if kind is None:
                self.misbehaviours.pop(task_id, None)
            elif kind in MISBEHAVIOURS:
                self.misbehaviours[task_id] = kind
            else:
                raise ValueError(f"misbehaviour must be one of {MISBEHAVIOURS}")

    def set(self, **overrides: object) -> SimConfig:
        """Change runtime settings (see `config.RUNTIME_SETTINGS`); return the new config."""
        with self.lock:
            self._config = self._config.with_settings(overrides)
            return self._config

    def expire_tokens(self) -> int:
        """Invalidate every session token (not the static one); return how many."""
        with self.lock:
            return self.tokens.revoke_all()

    def stats(self) -> dict[str, Any]:
        """Return request, fault, login and record counters."""
        with self.lock:
            data = self.counters.snapshot()
            data["live_tokens"] = len(self.tokens)
            data["tokens_expired"] = self.tokens.expired
            return data

    def reset_stats(self) -> None:
        """Zero the counters and forget the recorded requests."""
        with self.lock:
            self.counters.reset()
            self.tokens.expired = 0
            self._requests.clear()

    def record(self, request: Request) -> None:
        """Keep `request` when `record_requests` is on."""
        with self.lock:
            if self._config.record_requests:
                self._requests.append(
                    {
                        "method": request.method,
                        "path": request.path,
                        "query": request.query_string,
                        "headers": dict(request.headers),
                        "body": request.body.decode("utf-8", "replace"),
                    }
                )

    def requests(self) -> list[dict[str, Any]]:
        """Return the recorded requests in order of arrival (with `record_requests` on)."""
        with self.lock:
            return [{**r, "headers": dict(r["headers"])} for r in self._requests]

    def _tasks(self, task_id: int | None) -> list[Task]:
        if task_id is None:
            return [self.store.tasks[t] for t in sorted(self.store.tasks)]
        return [self.store.task(task_id)]

    def _stamp(self, at: float | None) -> int:
        return to_micros(at) if at is not None else self.now_us()
