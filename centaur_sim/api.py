"""The simulated public API: authentication, results, tasks, projects and fault injection."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from centaur_sim import messages as msg
from centaur_sim.config import LABELING_STATES
from centaur_sim.faults import ScriptedFault
from centaur_sim.messages import Reply, Request
from centaur_sim.misbehave import build_page
from centaur_sim.pages import Listed, PageQuery, catalog_page, render
from centaur_sim.state import SimCore
from centaur_sim.store import Case, Project, Task, encode
from centaur_sim.timefmt import parse_updated_after
from centaur_sim.tokens import same

LOGIN = "/auth/public/v1/login"
TEST_TOKEN = "/auth/public/v1/testToken"  # noqa: S105 - a path, not a secret
REFRESH_TOKEN = "/auth/public/v1/refreshToken"  # noqa: S105
LOGOUT = "/auth/public/v1/logout"
RESULTS_LIST = "/results/public/v1/list"
RESULTS_GET = "/results/public/v1/get"
RESULTS_V2_LIST = "/results/public/v2/list"
RESULTS_V2_GET = "/results/public/v2/get"
TASKS_LIST = "/tasks/public/v1/list"
TASKS_GET = "/tasks/public/v1/get"
PROJECTS_LIST = "/projects/public/v1/list"
PROJECTS_GET = "/projects/public/v1/get"
METHODS = {
    LOGIN: "POST",
    TEST_TOKEN: "POST",
    REFRESH_TOKEN: "POST",
    LOGOUT: "POST",
    RESULTS_LIST: "GET",
    RESULTS_GET: "GET",
    RESULTS_V2_LIST: "GET",
    RESULTS_V2_GET: "GET",
    TASKS_LIST: "GET",
    TASKS_GET: "GET",
    PROJECTS_LIST: "GET",
    PROJECTS_GET: "GET",
}
RESULTS = frozenset({RESULTS_LIST, RESULTS_GET, RESULTS_V2_LIST, RESULTS_V2_GET})
V2 = frozenset({RESULTS_V2_LIST, RESULTS_V2_GET})
CATALOG = frozenset({TASKS_LIST, TASKS_GET, PROJECTS_LIST, PROJECTS_GET})
#: The data endpoints: scripted faults without a `path`, and random faults, apply to these.
DATA = RESULTS | CATALOG
_INT = re.compile(r"[0-9]{1,18}", re.ASCII)


class InvalidParameterError(ValueError):
    """A query parameter the API rejects with 400."""


class PublicApi:
    """Answers requests to the documented endpoints."""

    def __init__(self, core: SimCore) -> None:
        """Serve the data and settings of `core`."""
        self.core = core
        self._data: dict[str, Callable[[Request], Reply]] = {
            RESULTS_LIST: self._list,
            RESULTS_GET: self._get,
            RESULTS_V2_LIST: self._list,
            RESULTS_V2_GET: self._get,
            TASKS_LIST: self._tasks_list,
            TASKS_GET: self._tasks_get,
            PROJECTS_LIST: self._projects_list,
            PROJECTS_GET: self._projects_get,
        }

    def handle(self, request: Request) -> Reply:
        """Answer one request (check order: route, country, API key, token, fault, endpoint)."""
        method = METHODS.get(request.path)
        core = self.core
        with core.lock:
            if method is None:
                reply = msg.not_found()
            elif request.method != method:
                reply = msg.message(405, "Method Not Allowed")
            else:
                reply = self._guarded(request)
            status = "reset" if reply.action == "reset" else str(reply.status)
            core.counters.request(request.path, status, reply.records)
            reply.delay += core.config.latency_ms / 1000
        return reply

    def _guarded(self, request: Request) -> Reply:
        config = self.core.config
        if config.restricted_country:
            return msg.restricted_country()
        if not same(request.headers.get("x-api-key", ""), config.api_key):
            return msg.unauthorized()
        token = None
        if request.path != LOGIN:
            token = _bearer(request)
            if token is None or not self.core.tokens.use(
                token,
                config.static_token,
                config.token_expiry_requests,
                config.token_idle_seconds,
            ):
                return msg.unauthorized()
        by_default = request.path in DATA or (request.path == LOGIN and config.faults_on_login)
        task_param = request.param("task_id")
        task_id = int(task_param) if task_param and _INT.fullmatch(task_param) else None
        fault = self.core.faults.draw(request.path, task_id, by_default)
        if fault is None:
            return self._endpoint(request, token)
        self.core.counters.faults[fault.kind] += 1
        return self._fault(fault, request, token)

    def _fault(self, fault: ScriptedFault, request: Request, token: str | None) -> Reply:
        config = self.core.config
        kind = fault.kind
        if kind == "redirect":
            here = request.path + (f"?{request.query_string}" if request.query_string else "")
            return msg.redirect(fault.status or 307, fault.location or here)
        if kind in ("truncate", "stall", "timeout", "future_date", "no_date"):
            reply = self._endpoint(request, token)
            if kind in ("truncate", "stall"):
                reply.action = kind
            elif kind == "timeout":
                reply.delay += config.spike_seconds
            else:
                reply.date_shift = 365 * 86400.0 if kind == "future_date" else None
            return reply
        if kind == "401":
            if token is not None:
                self.core.tokens.revoke(token)
            return msg.unauthorized()
        if kind == "reset":
            return Reply(0, action="reset")
        if kind == "429":
            return msg.too_many_requests(
                config.retry_after, config.retry_after_style, config.date_offset_seconds
            )
        canned: dict[str, Callable[[], Reply]] = {
            "500": msg.internal_error,
            "502": msg.bad_gateway,
            "503": msg.service_unavailable,
            "html200": msg.maintenance_page,
            "empty200": msg.empty_ok,
            "bad_utf8": msg.bad_utf8,
            "403": msg.restricted_country,
        }
        return canned[kind]()

    def _endpoint(self, request: Request, token: str | None) -> Reply:
        if request.path == LOGIN or token is None:
            return self._login(request)
        data = self._data.get(request.path)
        if data is not None:
            try:
                return data(request)
            except InvalidParameterError:
                return msg.invalid_parameter()
        return self._session(request.path, token)

    def _session(self, path: str, token: str) -> Reply:
        if path == TEST_TOKEN:
            return msg.message(200, "Token is valid")
        self.core.tokens.revoke(token)
        if path == REFRESH_TOKEN:
            return msg.json_reply(200, {"token": self.core.tokens.issue()})
        self.core.counters.logouts += 1
        return msg.message(200, "Logged out")

    def _login(self, request: Request) -> Reply:
        config = self.core.config
        try:
            body = json.loads(request.body)
        except ValueError:
            return msg.message(400, "Invalid request body")
        if not isinstance(body, dict) or not all(
            isinstance(body.get(k), str) for k in ("username", "api_password")
        ):
            return msg.message(400, "username and api_password are required")
        if not (
            same(body["username"], config.username)
            and same(body["api_password"], config.api_password)
        ):
            self.core.counters.login_failures += 1
            return msg.message(401, "Invalid username or password")
        self.core.counters.logins += 1
        return msg.json_reply(
            200,
            {
                "token": self.core.tokens.issue(),
                "id": 1,
                "email": config.username,
                "role": "admin",
                "name": None,
                "organization_id": 5,
                "organization": "Simulated Org",
                "created_at": None,
            },
        )

    def _task(self, request: Request) -> Task | Reply:
        """Return the request's task, or its 404, or v1's 426 for a v2-only task."""
        task = self.core.store.tasks.get(_required_int(request, "task_id"))
        if task is None:
            return msg.not_found()
        if task.unsupported and request.path not in V2:
            return msg.unsupported_task_type(request.path.rsplit("/", 1)[1])
        return task

    def _encoder(self, request: Request, task: Task) -> Callable[[Case], bytes]:
        """Return how a case of `task` is sent on this endpoint (v1 record or v2 item)."""
        if request.path in V2:
            return lambda case: case.v2(task.v2_notes)
        expose = self.core.config.expose_updated_at
        return lambda case: case.served(expose)

    def _get(self, request: Request) -> Reply:
        task = self._task(request)
        if isinstance(task, Reply):
            return task
        case = task.index.get(_required_int(request, "case_id"))
        if case is None:
            return msg.not_found()
        return Reply(200, self._encoder(request, task)(case), records=1)

    def _list(self, request: Request) -> Reply:
        task = self._task(request)
        if isinstance(task, Reply):
            return task
        config = self.core.config
        state = request.param("labeling_state")
        if state is not None and state not in LABELING_STATES:
            raise InvalidParameterError("labeling_state")
        updated_after = request.param("updated_after")
        try:
            since = None if updated_after is None else parse_updated_after(updated_after)
        except ValueError:
            raise InvalidParameterError("updated_after") from None
        after, limit = self._paging(request)
        full_page_mode = config.has_next_mode == "full_page"

        def fetch(cursor: int | None) -> tuple[list[Case], bool]:
            cases, more = self.core.store.select(task, cursor, state, since, limit)
            return cases, (len(cases) == limit) if full_page_mode else more

        query = PageQuery(
            after=after,
            limit=limit,
            fetch=fetch,
            is_case_seq=task.is_case_seq,
            last_page_style=config.last_page_style,
            encode=self._encoder(request, task),
            v2=request.path in V2,
        )
        kind = self.core.misbehaviours.get(task.info.task_id)
        page, misbehaved = build_page(kind, query)
        if misbehaved and kind is not None:
            self.core.counters.misbehaviours[kind] += 1
        return Reply(200, render(page), records=len(page.records))

    def _paging(self, request: Request) -> tuple[int | None, int]:
        """Return the `last_sequence_id` and `limit` of a list request (default page size)."""
        config = self.core.config
        after = _int_param(request, "last_sequence_id")
        limit = _int_param(request, "limit")
        limit = config.page_size if limit is None else limit
        if not 1 <= limit <= config.max_limit:
            raise InvalidParameterError("limit")
        return after, limit

    def _tasks_list(self, request: Request) -> Reply:
        store = self.core.store
        project_id = _int_param(request, "project_id")
        rows = store.task_rows
        if project_id is not None:
            project = store.projects.get(project_id)
            rows = [] if project is None else [store.tasks[t] for t in project.task_ids]
        term = request.param("search_term")
        if term is not None:
            needle = term.casefold()
            rows = [task for task in rows if needle in task.info.task_name.casefold()]
        return self._catalog_page(request, rows)

    def _tasks_get(self, request: Request) -> Reply:
        task = self.core.store.tasks.get(_required_int(request, "task_id"))
        return self._catalog_item(task)

    def _projects_list(self, request: Request) -> Reply:
        return self._catalog_page(request, self.core.store.project_rows)

    def _projects_get(self, request: Request) -> Reply:
        project = self.core.store.projects.get(_required_int(request, "project_id"))
        return self._catalog_item(project)

    def _catalog_page(self, request: Request, rows: list[Task] | list[Project]) -> Reply:
        config = self.core.config
        after, limit = self._paging(request)
        page = catalog_page(
            rows,
            after,
            limit,
            full_page_mode=config.has_next_mode == "full_page",
            last_page_style=config.last_page_style,
        )
        self.core.counters.catalog_items_served += len(page.records)
        return Reply(200, render(page))

    def _catalog_item(self, row: Listed | None) -> Reply:
        if row is None:
            return msg.not_found()
        self.core.counters.catalog_items_served += 1
        return Reply(200, encode(row.item()))


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _int_param(request: Request, name: str) -> int | None:
    return None if request.param(name) is None else _required_int(request, name)


def _required_int(request: Request, name: str) -> int:
    value = request.param(name)
    if value is None or not _INT.fullmatch(value):
        raise InvalidParameterError(name)
    return int(value)
