"""HTTP control endpoints under /_sim/ (no authentication: local testing only; see the README)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from centaur_sim import messages as msg
from centaur_sim.messages import CANNED, Reply, Request

if TYPE_CHECKING:
    from centaur_sim.simulator import Simulator

Handler = Callable[[Request, dict[str, Any]], object]
OK = {"message": "ok"}


class ControlApi:
    """Routes /_sim/ requests to `Simulator` operations."""

    def __init__(self, sim: Simulator) -> None:
        """Control `sim`."""
        self.sim = sim
        self.routes: dict[tuple[str, str], Handler] = {
            ("GET", "/_sim/truth"): self._truth,
            ("GET", "/_sim/meta"): lambda r, d: sim.truth_meta(_int_query(r, "task_id")),
            ("GET", "/_sim/tasks"): lambda r, d: sim.tasks_truth(_int_query(r, "project_id")),
            ("GET", "/_sim/stats"): lambda r, d: sim.stats(),
            ("GET", "/_sim/requests"): lambda r, d: sim.requests(),
            ("GET", "/_sim/config"): lambda r, d: sim.config.to_json(),
            ("GET", "/_sim/faults"): lambda r, d: sim.pending_faults(),
            ("POST", "/_sim/reset-stats"): lambda r, d: _ok(sim.reset_stats, d),
            ("POST", "/_sim/settings"): lambda r, d: sim.set(**d).to_json(),
            ("POST", "/_sim/faults"): self._faults,
            ("POST", "/_sim/update"): lambda r, d: {"case_ids": sim.update_cases(**d)},
            ("POST", "/_sim/add"): lambda r, d: {"case_ids": sim.add_cases(**d)},
            ("POST", "/_sim/state"): lambda r, d: _ok(sim.set_labeling_state, d),
            ("POST", "/_sim/task"): lambda r, d: {"task_id": sim.add_task(**d)},
            ("POST", "/_sim/misbehaviour"): lambda r, d: _ok(sim.set_misbehaviour, d),
            ("POST", "/_sim/expire-tokens"): lambda r, d: {"expired": sim.expire_tokens()},
        }

    def handle(self, request: Request) -> Reply:
        """Answer a control request; bad input gives 400, unknown task or case 404."""
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            known = any(path == request.path for _, path in self.routes)
            return CANNED["405" if known else "404"]()
        try:
            data = _object(json.loads(request.body) if request.body.strip() else {})
            return msg.json_reply(200, handler(request, data))
        except KeyError as error:
            return msg.message(404, f"not found: {error}")
        except (ValueError, TypeError) as error:
            return msg.message(400, str(error))

    def _truth(self, request: Request, data: dict[str, Any]) -> object:
        api = request.param("api") or "v1"
        if api not in ("v1", "v2"):
            raise ValueError("api must be v1 or v2")
        truth = self.sim.truth_v2 if api == "v2" else self.sim.truth
        return truth(_int_query(request, "task_id"))

    def _faults(self, request: Request, data: dict[str, Any]) -> object:
        unknown = sorted(set(data) - {"clear", "script", "rates", "seed"})
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(unknown)}")
        if data.get("clear"):
            self.sim.clear_faults()
        if "script" in data:
            self.sim.script_faults(data["script"])
        if "rates" in data or "seed" in data:
            self.sim.set_fault_rates(data.get("rates", {}), data.get("seed"))
        return self.sim.pending_faults()


def _object(data: object) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TypeError("body must be a JSON object")
    return data


def _ok(operation: Callable[..., None], arguments: dict[str, Any]) -> dict[str, str]:
    operation(**arguments)
    return OK


def _int_query(request: Request, name: str) -> int | None:
    value = request.param(name)
    return None if value in (None, "") else int(value)
