"""`Simulator`: the simulated API's state, the operations tests drive it with, and its server."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from centaur_sim import generate
from centaur_sim.api import PublicApi
from centaur_sim.config import LABELING_STATES, SimConfig
from centaur_sim.control import ControlApi
from centaur_sim.faults import FaultPlan
from centaur_sim.generate import Record
from centaur_sim.messages import Reply, Request
from centaur_sim.misbehave import MISBEHAVIOURS
from centaur_sim.server import SimServer
from centaur_sim.stats import Stats
from centaur_sim.store import Case, Task, new_store
from centaur_sim.tokens import TokenStore


class Simulator:
    """A local Centaur Labs API; `start()` serves it on 127.0.0.1 in a daemon thread.

    Every method is thread-safe (one lock guards all state). Update times default to the real
    clock (`at=None`), which `date_offset_seconds` does not shift. For local testing only: the
    /_sim/ control endpoints need no authentication.
    """

    def __init__(self, config: SimConfig | None = None, *, verbose: bool = False) -> None:
        """Generate the data of `config`; `verbose` logs each request to stderr."""
        self.lock = threading.RLock()
        self.config = config or SimConfig()
        self.store = new_store(self.config)
        self.tokens = TokenStore()
        self.faults = FaultPlan()
        self.misbehaviours: dict[int, str] = {}
        self.counters = Stats()
        self.verbose = verbose
        self._rng = random.Random(f"{self.config.seed}-changes")  # noqa: S311 - simulated data
        self._requests: list[Request] = []
        self._server: SimServer | None = None
        self._thread: threading.Thread | None = None

    # --- serving ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:8765` (https with TLS; RuntimeError before `start`)."""
        if self._server is None:
            raise RuntimeError("simulator not started")
        host, port = self._server.server_address[:2]
        return f"{self._server.scheme}://{host!s}:{port}"

    @property
    def port(self) -> int:
        """The bound TCP port."""
        return int(self.url.rsplit(":", 1)[1])

    def start(self) -> str:
        """Bind the configured host and port (0: any free port), serve, return the base URL."""
        if self._server is not None:
            return self.url
        api, control = PublicApi(self), ControlApi(self)

        def app(request: Request) -> Reply:
            if request.path.startswith("/_sim/"):
                return control.handle(request)
            with self.lock:
                if self.config.record_requests:
                    self._requests.append(request)
            return api.handle(request)

        address = (self.config.host, self.config.port)
        self._server = SimServer(address, app, lambda: self.config, self.verbose)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="centaur-sim",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and close the listening socket and all client connections."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_all()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Simulator:
        """Start and return the simulator."""
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop the simulator."""
        self.stop()

    # --- what is served -----------------------------------------------------------------

    def task_ids(self) -> list[int]:
        """Return the ids of all tasks."""
        with self.lock:
            return sorted(self.store.tasks)

    def truth(self, task_id: int | None = None) -> list[Record]:
        """Return current case results (one task or all), in sequence order, as v1 serves them."""
        with self.lock:
            return [json.loads(c.body) for t in self._tasks(task_id) for c in t.cases]

    def truth_v2(self, task_id: int | None = None) -> list[Record]:
        """Return current results-v2 items (one task or all), in sequence order, as served."""
        with self.lock:
            return [json.loads(c.v2(t.v2_notes)) for t in self._tasks(task_id) for c in t.cases]

    def truth_meta(self, task_id: int | None = None) -> list[dict[str, Any]]:
        """Return server-side facts per case: sequence id, update time, labeling state."""
        with self.lock:
            return [row for task in self._tasks(task_id) for row in self.store.describe(task)]

    def tasks_truth(self, project_id: int | None = None) -> list[dict[str, Any]]:
        """Return the task items (of one project, or all) as the task list serves them."""
        with self.lock:
            rows = self.store.task_rows
            return [t.item() for t in rows if project_id in (None, t.info.project_id)]

    # --- changing the data --------------------------------------------------------------

    def update_cases(
        self,
        task_id: int,
        case_ids: Iterable[int] | None = None,
        count: int | None = None,
        rng_seed: int | None = None,
        at: float | None = None,
    ) -> list[int]:
        """Give cases one more read and a new update time (`at`, else now).

        Picks `case_ids` if given, else `count` random cases (seeded by `rng_seed`), else every
        case of the task. Returns the changed case ids in the order they were picked.
        """
        with self.lock:
            task = self.store.tasks[task_id]
            rng = self._rng if rng_seed is None else random.Random(rng_seed)  # noqa: S311
            if case_ids is not None:
                cases = [_case(task, case_id) for case_id in case_ids]
            elif count is not None:
                if not 0 <= count <= len(task.cases):
                    raise ValueError(f"count must be in 0..{len(task.cases)}")
                cases = [task.cases[i] for i in sorted(rng.sample(range(len(task.cases)), count))]
            else:
                cases = list(task.cases)
            updated_us = _stamp(at)
            for case in cases:
                record = case.record()
                generate.add_read(record, task.info, rng, updated_us // 1_000_000)
                case.replace(record, updated_us)
            return [case.case_id for case in cases]

    def add_cases(self, task_id: int, count: int = 1, at: float | None = None) -> list[int]:
        """Append new cases (larger sequence ids) updated at `at` or now; return their ids."""
        if count < 0:
            raise ValueError("count must be >= 0")
        with self.lock:
            task = self.store.tasks[task_id]
            updated_us = _stamp(at)
            return [
                self.store.append(task, None, updated_us, self._rng).case_id for _ in range(count)
            ]

    def set_labeling_state(
        self, task_id: int, case_id: int, state: str, at: float | None = None
    ) -> None:
        """Move one case to a labeling state (an update: its update time moves too)."""
        if state not in LABELING_STATES:
            raise ValueError(f"labeling state must be one of {LABELING_STATES}")
        with self.lock:
            task = self.store.tasks[task_id]
            case = _case(task, case_id)
            record = case.record()
            generate.set_state(record, task.info, state, self._rng)
            case.replace(record, _stamp(at))

    def add_task(
        self,
        task_id: int | None = None,
        cases: int = 0,
        *,
        at: float | None = None,
        **options: Any,  # noqa: ANN401 - the keyword arguments of `CaseStore.add_task`
    ) -> int:
        """Create a task, last in the task list, created at `at` (else now); return its id.

        `options`: those of `CaseStore.add_task` (type, name, unsupported, extra fields, project).
        """
        if cases < 0:
            raise ValueError("cases must be >= 0")
        with self.lock:
            created_s = _stamp(at) // 1_000_000
            return self.store.add_task(task_id, cases, created_s=created_s, **options).info.task_id

    # --- behaviour ----------------------------------------------------------------------

    def script_faults(self, faults: Iterable[Mapping[str, Any]]) -> None:
        """Queue faults: `{"kind": K, "count": n, "path": prefix, "task_id": id, ...}` each."""
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
        if kind is not None and kind not in MISBEHAVIOURS:
            raise ValueError(f"misbehaviour must be one of {MISBEHAVIOURS}")
        with self.lock:
            self.store.tasks[task_id]
            if kind is None:
                self.misbehaviours.pop(task_id, None)
            else:
                self.misbehaviours[task_id] = kind

    def set(self, **overrides: object) -> SimConfig:
        """Change runtime settings (see `config`); return the new configuration."""
        with self.lock:
            self.config = self.config.with_settings(overrides)
            return self.config

    def expire_tokens(self) -> int:
        """Invalidate every session token (not the static one); return how many."""
        with self.lock:
            return self.tokens.revoke_all()

    # --- what was served ----------------------------------------------------------------

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
            self.counters = Stats()
            self.tokens.expired = 0
            self._requests.clear()

    def requests(self) -> list[dict[str, Any]]:
        """Return the recorded requests in order of arrival (with `record_requests` on)."""
        with self.lock:
            return [
                {
                    "method": r.method,
                    "path": r.path,
                    "query": r.query_string,
                    "headers": dict(r.headers),
                    "body": r.body.decode("utf-8", "replace"),
                }
                for r in self._requests
            ]

    def _tasks(self, task_id: int | None) -> list[Task]:
        if task_id is None:
            return [self.store.tasks[t] for t in sorted(self.store.tasks)]
        return [self.store.tasks[task_id]]


def _case(task: Task, case_id: int) -> Case:
    try:
        return task.index[case_id]
    except KeyError:
        raise KeyError(f"case {case_id} not in task {task.info.task_id}") from None


def _stamp(at: float | None) -> int:
    return round((time.time() if at is None else at) * 1_000_000)
