"""The simulated public API: authentication, results v1 and v2, tasks, projects, faults."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from centaur_sim import messages as msg
from centaur_sim.config import LABELING_STATES, words
from centaur_sim.faults import ScriptedFault
from centaur_sim.messages import CANNED, Reply, Request
from centaur_sim.misbehave import build_page
from centaur_sim.pages import PageQuery, catalog_page, render
from centaur_sim.store import Case, Project, Task
from centaur_sim.timefmt import parse_updated_after
from centaur_sim.tokens import same

if TYPE_CHECKING:
    from centaur_sim.simulator import Simulator

LOGIN = "/auth/public/v1/login"
LOGOUT = "/auth/public/v1/logout"
V1, V2 = "/results/public/v1/", "/results/public/v2/"
#: Faults that change the normal answer: how it is sent, or its contents (see `_amend`).
AMENDING = words(
    "truncate stall timeout future_date no_date deep_json nan huge_number bom date_9999"
)
YEAR_SECONDS = 365 * 86400.0
GIB = 1 << 30
_INT = re.compile(r"[0-9]{1,18}", re.ASCII)


class InvalidParameterError(ValueError):
    """A query parameter the API rejects with 400."""


class PublicApi:
    """Answers requests to the documented endpoints."""

    def __init__(self, sim: Simulator) -> None:
        """Serve the data and settings of `sim`."""
        self.sim = sim
        #: The data endpoints: scripted faults without a `path`, and random faults, apply to these.
        self._data: dict[str, Callable[[Request], Reply]] = {
            **{V1 + "list": self._list, V1 + "get": self._get},
            **{V2 + "list": self._list, V2 + "get": self._get},
            "/tasks/public/v1/list": self._tasks_list,
            "/projects/public/v1/list": lambda r: self._catalog_page(r, sim.store.project_rows),
        }
        self._methods = {LOGIN: "POST", LOGOUT: "POST"} | dict.fromkeys(self._data, "GET")

    def handle(self, request: Request) -> Reply:
        """Answer one request (check order: route, country, API key, token, fault, endpoint)."""
        method = self._methods.get(request.path)
        sim = self.sim
        with sim.lock:
            if method is None:
                reply = CANNED["404"]()
            elif request.method != method:
                reply = CANNED["405"]()
            else:
                reply = self._guarded(request)
            status = "reset" if reply.action == "reset" else str(reply.status)
            sim.counters.request(request.path, status, reply.records)
            reply.delay += sim.config.latency_ms / 1000
        return reply

    def _guarded(self, request: Request) -> Reply:
        config = self.sim.config
        if config.restricted_country:
            return msg.restricted_country()
        if not same(request.headers.get("x-api-key", ""), config.api_key):
            return CANNED["401"]()
        token = None
        if request.path != LOGIN:
            token = _bearer(request)
            tokens = self.sim.tokens
            if token is None or not tokens.use(
                token, config.static_token, config.token_expiry_requests
            ):
                return CANNED["401"]()
        task_param = request.param("task_id")
        task_id = int(task_param) if task_param and _INT.fullmatch(task_param) else None
        fault = self.sim.faults.draw(request.path, task_id, request.path in self._data)
        if fault is None:
            return self._endpoint(request, token)
        self.sim.counters.faults[fault.kind] += 1
        return self._fault(fault, request, token)

    def _fault(self, fault: ScriptedFault, request: Request, token: str | None) -> Reply:
        """Answer with `fault` (what each kind does: the README)."""
        config, kind, size = self.sim.config, fault.kind, fault.size or GIB
        if kind in AMENDING:
            return _amend(self._endpoint(request, token), fault, config.spike_seconds)
        if kind == "401" and token is not None:
            self.sim.tokens.revoke(token)
        gzip = [("Content-Encoding", "gzip")]
        here = request.path + (f"?{request.query_string}" if request.query_string else "")
        answers: dict[str, Callable[[], Reply]] = {
            "reset": lambda: Reply(0, action="reset"),
            "429": lambda: msg.too_many_requests(
                config.retry_after, config.retry_after_style, config.date_offset_seconds
            ),
            "redirect": lambda: msg.redirect(fault.status or 307, fault.location or here),
            "answer": lambda: msg.echoing(
                fault.status or 400,
                fault.reason,
                fault.body or "",
                request.headers.get("x-api-key", ""),
            ),
            "gzip_bomb": lambda: Reply(200, msg.gzip_bomb(size), headers=gzip),
            "object_bomb": lambda: Reply(200, msg.gzip_bomb(size, objects=True), headers=gzip),
            "flood": lambda: Reply(200, chunks=self._counted(msg.padded_page(size))),
            "gzip_flood": lambda: Reply(
                200, chunks=self._counted(msg.gzipped(msg.padded_page(size))), headers=gzip
            ),
            "empty_page": lambda: self._empty_page(request),
            "gzip_cut": lambda: Reply(200, msg.gzip_bomb(4096)[:-8], headers=gzip),
            "br": lambda: Reply(200, b"\x0b\x02\x80{}\x03", headers=[("Content-Encoding", "br")]),
        }
        return answers[kind]() if kind in answers else CANNED[kind]()

    def _empty_page(self, request: Request) -> Reply:
        """A page without records that says more follow, one past the cursor asked for."""
        try:
            after, limit = self._paging(request)
        except InvalidParameterError:
            return CANNED["400"]()
        page = {"payload": [], "has_next": True, "last_sequence_id": (after or 0) + 1}
        return msg.json_reply(200, {**page, "limit": limit})

    def _endpoint(self, request: Request, token: str | None) -> Reply:
        if request.path == LOGIN or token is None:
            return self._login(request)
        if request.path == LOGOUT:
            self.sim.tokens.revoke(token)
            self.sim.counters.logouts += 1
            return msg.message(200, "Logged out")
        try:
            return self._data[request.path](request)
        except InvalidParameterError as error:
            return msg.invalid_parameter(self.sim.config.bad_parameter_status, str(error))

    def _login(self, request: Request) -> Reply:
        config = self.sim.config
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
            self.sim.counters.login_failures += 1
            return msg.message(401, "Invalid username or password")
        self.sim.counters.logins += 1
        return msg.json_reply(
            200,
            {
                "token": self.sim.tokens.issue(),
                "id": 1,
                "email": config.username,
                "role": "admin",
                "name": None,
                "organization_id": 5,
                "organization": "Simulated Org",
                "created_at": None,
            },
        )

    def _task(self, request: Request) -> tuple[Task, Callable[[Case], bytes]] | Reply:
        """Return the request's task and how its cases are sent, or a 404, or v1's 426."""
        task = self.sim.store.tasks.get(_required_int(request, "task_id"))
        if task is None:
            return CANNED["404"]()
        if request.path.startswith(V2):
            return task, lambda case: case.v2(task.v2_notes)
        if task.unsupported:
            return msg.unsupported_task_type(request.path.rsplit("/", 1)[1])
        return task, lambda case: case.body

    def _get(self, request: Request) -> Reply:
        found = self._task(request)
        if isinstance(found, Reply):
            return found
        task, encode = found
        case = task.index.get(_required_int(request, "case_id"))
        if case is None:
            return CANNED["404"]()
        return Reply(200, encode(case), records=1)

    def _list(self, request: Request) -> Reply:
        found = self._task(request)
        if isinstance(found, Reply):
            return found
        task, encode = found
        state = request.param("labeling_state")
        if state is not None and state not in LABELING_STATES:
            raise InvalidParameterError("labeling_state")
        updated_after = request.param("updated_after")
        try:
            since = None if updated_after is None else parse_updated_after(updated_after)
        except ValueError:
            raise InvalidParameterError("updated_after") from None
        after, limit = self._paging(request)
        store = self.sim.store
        query = PageQuery(
            after=after,
            limit=limit,
            fetch=lambda cursor: store.select(task, cursor, state, since, limit),
            is_case_seq=task.is_case_seq,
            last_page_style=self.sim.config.last_page_style,
            encode=encode,
            v2=request.path.startswith(V2),
        )
        kind = self.sim.misbehaviours.get(task.info.task_id)
        page, misbehaved = build_page(kind, query)
        if misbehaved and kind is not None:
            self.sim.counters.misbehaviours[kind] += 1
        return Reply(200, render(page), records=len(page.records))

    def _paging(self, request: Request) -> tuple[int | None, int]:
        """Return the `last_sequence_id` and `limit` of a list request (default page size)."""
        config = self.sim.config
        after = _int_param(request, "last_sequence_id")
        limit = _int_param(request, "limit")
        limit = config.page_size if limit is None else limit
        if not 1 <= limit <= config.max_limit:
            raise InvalidParameterError("limit")
        return after, limit

    def _counted(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """`chunks`, each counted in `streamed_bytes` as the connection takes it."""
        for chunk in chunks:
            with self.sim.lock:
                self.sim.counters.streamed_bytes += len(chunk)
            yield chunk

    def _tasks_list(self, request: Request) -> Reply:
        store = self.sim.store
        project_id = _int_param(request, "project_id")
        rows = store.task_rows
        if project_id is not None:
            project = store.projects.get(project_id)
            rows = [] if project is None else [store.tasks[t] for t in project.task_ids]
        return self._catalog_page(request, rows)

    def _catalog_page(self, request: Request, rows: Sequence[Task] | Sequence[Project]) -> Reply:
        after, limit = self._paging(request)
        page = catalog_page(rows, after, limit, self.sim.config.last_page_style)
        self.sim.counters.catalog_items_served += len(page.records)
        return Reply(200, render(page))


def _amend(reply: Reply, fault: ScriptedFault, spike_seconds: float) -> Reply:
    """The normal answer, sent differently (cut, slow, its date) or with spoilt contents."""
    kind, levels = fault.kind, fault.size or 5000
    if kind in ("truncate", "stall"):
        reply.action = kind
    elif kind == "timeout":
        reply.delay += spike_seconds
    elif kind in ("future_date", "no_date"):
        reply.date_shift = YEAR_SECONDS if kind == "future_date" else None
    elif kind == "date_9999":
        reply.date_text = msg.DATE_9999
    elif kind == "bom":
        reply.body = codecs.BOM_UTF8 + reply.body
    else:  # a field first in the first record that JSON cannot hold, or hardly
        bad = {"nan": b"NaN", "huge_number": b"1e400"}
        nested = b'"nested":' + b'{"a":' * levels + b"1" + b"}" * levels
        spoilt = nested if kind == "deep_json" else b'"agreement":' + bad[kind]
        reply.body = msg.with_field(reply.body, spoilt)
    return reply


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
