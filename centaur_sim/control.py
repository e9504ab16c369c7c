"""HTTP control endpoints under /_sim/ (no authentication: local testing only).

GET  /_sim/truth?task_id=      current case results, as served (all tasks without task_id);
                               `api=v2`: the results-v2 items
GET  /_sim/meta?task_id=       per case: sequence_id, updated_at, labeling_state
GET  /_sim/tasks?project_id=   task items as the task list serves them (all without project_id)
GET  /_sim/projects            project items as the project list serves them
GET  /_sim/catalog-meta        {"tasks": [{task_id, sequence_id}], "projects": [...]} in list order
GET  /_sim/stats               counters;   POST /_sim/reset-stats (also forgets requests)
GET  /_sim/config              settings in force;   POST /_sim/settings {setting: value}
GET  /_sim/faults              pending script and rates
GET  /_sim/requests            requests received, in order (with `record_requests` on)
POST /_sim/faults              {"script": [...], "rates": {...}, "seed": n, "clear": bool}
POST /_sim/update              {"task_id", "case_ids"?, "count"?, "rng_seed"?, "at"?}
POST /_sim/add                 {"task_id", "count", "at"?}
POST /_sim/state               {"task_id", "case_id", "state", "at"?}
POST /_sim/task                {"task_id"?, "cases"?, "task_type"?, "name"?, "unsupported"?,
                                "extra_fields"?, "project_id"?, "at"?} -> {"task_id"}
POST /_sim/project             {"project_id"?, "name"?, "at"?} -> {"project_id"}
POST /_sim/misbehaviour        {"task_id", "kind": name or null}
POST /_sim/expire-tokens       invalidate all session tokens
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from centaur_sim import messages as msg
from centaur_sim.messages import Reply, Request
from centaur_sim.state import SimCore

Handler = Callable[[Request, dict[str, Any]], object]


class ControlApi:
    """Routes /_sim/ requests to `SimCore` operations."""

    def __init__(self, core: SimCore) -> None:
        """Control `core`."""
        self.core = core
        self.routes: dict[tuple[str, str], Handler] = {
            ("GET", "/_sim/truth"): self._truth,
            ("GET", "/_sim/meta"): lambda r, d: core.truth_meta(_task_param(r)),
            ("GET", "/_sim/tasks"): lambda r, d: core.tasks_truth(_int_query(r, "project_id")),
            ("GET", "/_sim/projects"): lambda r, d: core.projects_truth(),
            ("GET", "/_sim/catalog-meta"): lambda r, d: core.catalog_meta(),
            ("GET", "/_sim/stats"): lambda r, d: core.stats(),
            ("GET", "/_sim/config"): lambda r, d: core.config.to_json(),
            ("GET", "/_sim/faults"): lambda r, d: core.pending_faults(),
            ("GET", "/_sim/requests"): lambda r, d: core.requests(),
            ("POST", "/_sim/reset-stats"): self._reset_stats,
            ("POST", "/_sim/settings"): lambda r, d: core.set(**d).to_json(),
            ("POST", "/_sim/faults"): self._faults,
            ("POST", "/_sim/update"): self._update,
            ("POST", "/_sim/add"): self._add,
            ("POST", "/_sim/state"): self._state,
            ("POST", "/_sim/task"): self._task,
            ("POST", "/_sim/project"): self._project,
            ("POST", "/_sim/misbehaviour"): self._misbehaviour,
            ("POST", "/_sim/expire-tokens"): lambda r, d: {"expired": core.expire_tokens()},
        }

    def handle(self, request: Request) -> Reply:
        """Answer a control request; bad input gives 400, unknown task or case 404."""
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            known = any(path == request.path for _, path in self.routes)
            return msg.message(405, "Method Not Allowed") if known else msg.not_found()
        try:
            data = json.loads(request.body) if request.body.strip() else {}
            return msg.json_reply(200, handler(request, _object(data)))
        except KeyError as error:
            return msg.message(404, f"not found: {error}")
        except (ValueError, TypeError) as error:
            return msg.message(400, str(error))

    def _truth(self, request: Request, data: dict[str, Any]) -> object:
        api = request.param("api") or "v1"
        if api not in ("v1", "v2"):
            raise ValueError("api must be v1 or v2")
        truth = self.core.truth_v2 if api == "v2" else self.core.truth
        return truth(_task_param(request))

    def _reset_stats(self, request: Request, data: dict[str, Any]) -> object:
        self.core.reset_stats()
        return {"message": "ok"}

    def _faults(self, request: Request, data: dict[str, Any]) -> object:
        _only(data, {"clear", "script", "rates", "seed"})
        if data.get("clear"):
            self.core.clear_faults()
        if "script" in data:
            self.core.script_faults(data["script"])
        if "rates" in data or "seed" in data:
            seed = data.get("seed")
            self.core.set_fault_rates(data.get("rates", {}), _opt_int(seed))
        return self.core.pending_faults()

    def _update(self, request: Request, data: dict[str, Any]) -> object:
        _only(data, {"task_id", "case_ids", "count", "rng_seed", "at"})
        case_ids = data.get("case_ids")
        changed = self.core.update_cases(
            _int(_need(data, "task_id")),
            case_ids=None if case_ids is None else [_int(c) for c in case_ids],
            count=_opt_int(data.get("count")),
            rng_seed=_opt_int(data.get("rng_seed")),
            at=_float(data.get("at")),
        )
        return {"case_ids": changed}

    def _add(self, request: Request, data: dict[str, Any]) -> object:
        _only(data, {"task_id", "count", "at"})
        added = self.core.add_cases(
            _int(_need(data, "task_id")),
            _int(data.get("count", 1)),
            at=_float(data.get("at")),
        )
        return {"case_ids": added}

    def _state(self, request: Request, data: dict[str, Any]) -> object:
        _only(data, {"task_id", "case_id", "state", "at"})
        self.core.set_labeling_state(
            _int(_need(data, "task_id")),
            _int(_need(data, "case_id")),
            str(_need(data, "state")),
            at=_float(data.get("at")),
        )
        return {"message": "ok"}

    def _task(self, request: Request, data: dict[str, Any]) -> object:
        _only(
            data,
            {
                "task_id",
                "cases",
                "task_type",
                "name",
                "unsupported",
                "extra_fields",
                "project_id",
                "at",
            },
        )
        task_id = self.core.add_task(
            task_id=_opt_int(data.get("task_id")),
            cases=_int(data.get("cases", 0)),
            task_type=data.get("task_type"),
            name=data.get("name"),
            unsupported=bool(data.get("unsupported", False)),
            extra_fields=bool(data.get("extra_fields", False)),
            project_id=_opt_int(data.get("project_id")),
            at=_float(data.get("at")),
        )
        return {"task_id": task_id}

    def _project(self, request: Request, data: dict[str, Any]) -> object:
        _only(data, {"project_id", "name", "at"})
        name = data.get("name")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"not a string: {name!r}")
        project_id = self.core.add_project(
            _opt_int(data.get("project_id")), name=name, at=_float(data.get("at"))
        )
        return {"project_id": project_id}

    def _misbehaviour(self, request: Request, data: dict[str, Any]) -> object:
        _only(data, {"task_id", "kind"})
        self.core.set_misbehaviour(_int(_need(data, "task_id")), data.get("kind"))
        return {"message": "ok"}


def _only(data: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")


def _object(data: object) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TypeError("body must be a JSON object")
    return data


def _need(data: dict[str, Any], name: str) -> object:
    if data.get(name) is None:
        raise ValueError(f"{name} is required")
    return data[name]


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError(f"not an integer: {value!r}")
    return int(value)


def _float(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError(f"not a number: {value!r}")
    return float(value)


def _opt_int(value: object) -> int | None:
    return None if value is None else _int(value)


def _task_param(request: Request) -> int | None:
    return _int_query(request, "task_id")


def _int_query(request: Request, name: str) -> int | None:
    value = request.param(name)
    return None if value in (None, "") else _int(value)
