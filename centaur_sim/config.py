"""Simulator configuration: one frozen dataclass, its vocabularies, and which fields may change.

Each field's metadata holds its help text (the command line is derived from it, see `cli`) and
whether it is a runtime setting (`Simulator.set`, POST /_sim/settings).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

LABELING_STATES = ("Ready", "Active", "Labeled", "Gold Standard", "Canceled", "Flagged")


def words(text: str) -> tuple[str, ...]:
    """Split `text` at whitespace into a tuple."""
    return tuple(text.split())


#: Fault kinds for scripts and random rates (what each does: the README).
FAULT_KINDS = words("429 500 502 503 reset truncate timeout html200 empty200 bad_utf8 401 403")
#: Kinds that only a script can ask for (never drawn at random): dates, redirects, a stall, any
#: answer (`faults.ScriptedFault`), and hostile answers (issue 19): sizes, endless pages, contents.
SCRIPTED_KINDS = words(
    "future_date no_date redirect stall answer gzip_bomb object_bomb flood gzip_flood empty_page"
    " deep_json nan huge_number bom date_9999 gzip_cut br"
)
#: Kinds whose `size` field means something: bytes of the body, or levels of nesting.
SIZED_KINDS = ("gzip_bomb", "object_bomb", "flood", "gzip_flood", "deep_json")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
LAST_PAGE_STYLES = ("absent", "false")
#: How a bad query parameter is refused: the documented 400, or FastAPI's 422 validation body.
BAD_PARAMETER_STATUSES = (400, 422)
RETRY_AFTER_STYLES = ("seconds", "http-date", "year-9999")
GZIP_LEVEL = 1
T = TypeVar("T")


def _opt(default: T, doc: str = "", *, runtime: bool = False, **meta: object) -> T:
    """A field with its help text; `runtime` ones may change while serving."""
    return field(default=default, metadata={"help": doc, "runtime": runtime, **meta})


@dataclass(frozen=True)
class SimConfig:
    """Everything that shapes the simulated API; change it with `dataclasses.replace`."""

    host: str = _opt("127.0.0.1")
    port: int = _opt(0, "0 picks a free port", cli_default=8765)
    api_key: str = _opt("demo-api-key", runtime=True)
    username: str = _opt("demo@example.com", runtime=True)
    api_password: str = _opt("demo-api-password", runtime=True)
    static_token: str | None = _opt(None, "bearer token accepted without login", runtime=True)
    tasks: int = _opt(3)
    first_task_id: int = _opt(101)
    cases: int | tuple[int, ...] = _opt(250, "per task: N, or N1,N2,... (one per task)")
    page_size: int = _opt(100, "default limit", runtime=True)
    max_limit: int = _opt(1000, "largest limit accepted")
    seed: int = _opt(42)
    unsupported_task_ids: tuple[int, ...] = _opt(
        (), "v2-only task: v1 answers 426 (repeatable)", flag="--unsupported-task", metavar="ID"
    )
    extra_fields: bool = _opt(False, "v1 records carry review_notes on every other task")
    last_page_style: str = _opt(
        "absent", "has_next on the last page", runtime=True, choices=LAST_PAGE_STYLES
    )
    first_sequence_id: int = _opt(1)
    gzip: bool = _opt(True, "gzip answers when the client accepts it", runtime=True)
    latency_ms: float = _opt(0.0, "answer this long after reading a request", runtime=True)
    token_expiry_requests: int | None = _opt(None, "requests a login token serves", runtime=True)
    restricted_country: bool = _opt(False, "answer 403 restricted_country", runtime=True)
    retry_after: int = _opt(1, "seconds in a 429's Retry-After", runtime=True)
    retry_after_style: str = _opt("seconds", runtime=True, choices=RETRY_AFTER_STYLES)
    bad_parameter_status: int = _opt(
        400, "status of a bad query parameter", runtime=True, choices=BAD_PARAMETER_STATUSES
    )
    spike_seconds: float = _opt(5.0, "delay of the timeout fault", runtime=True)
    date_offset_seconds: float = _opt(0.0, "shifts every Date header", runtime=True)
    record_requests: bool = _opt(False, "keep every request (GET /_sim/requests)", runtime=True)
    stall_byte_seconds: float = _opt(1.0, "pace of the stall fault's body", runtime=True)
    tls_certfile: str | None = _opt(None, "serve HTTPS with this PEM certificate")
    tls_keyfile: str | None = _opt(None, "its PEM key (default: in the certificate file)")

    def __post_init__(self) -> None:
        """Reject values the simulator cannot serve."""
        if isinstance(self.cases, list):
            object.__setattr__(self, "cases", tuple(self.cases))
        object.__setattr__(self, "unsupported_task_ids", tuple(self.unsupported_task_ids))
        counts = self.cases_per_task()
        _require(self.tasks >= 0, "tasks must be >= 0")
        _require(len(counts) == self.tasks, "cases list must have one entry per task")
        _require(all(n >= 0 for n in counts), "cases must be >= 0")
        _require(self.first_task_id >= 1, "first_task_id must be >= 1")
        _require(1 <= self.page_size <= self.max_limit, "page_size must be in 1..max_limit")
        _require(self.first_sequence_id >= 0, "first_sequence_id must be >= 0")
        for name in ("latency_ms", "spike_seconds", "stall_byte_seconds", "retry_after"):
            _require(getattr(self, name) >= 0, f"{name} must be >= 0")
        _require((self.token_expiry_requests or 0) >= 0, "token_expiry_requests must be >= 0")
        for f in dataclasses.fields(self):
            choices = f.metadata.get("choices", (getattr(self, f.name),))
            _require(getattr(self, f.name) in choices, f"{f.name} must be one of {choices}")
        _require(bool(self.tls_certfile or not self.tls_keyfile), "tls_keyfile needs tls_certfile")

    def cases_per_task(self) -> tuple[int, ...]:
        """Return the number of cases of each configured task."""
        if isinstance(self.cases, int):
            return (self.cases,) * self.tasks
        return tuple(self.cases)

    def with_settings(self, overrides: Mapping[str, Any]) -> SimConfig:
        """Return a copy with runtime `overrides` applied (ValueError for bad names or values)."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        for name, value in overrides.items():
            runtime = name in fields and fields[name].metadata["runtime"]
            _require(runtime, f"not a runtime setting: {name}")
            kind = type(value).__name__
            _require(_fits(value, str(fields[name].type)), f"{name}: wrong type {kind}")
        return dataclasses.replace(self, **overrides)

    def to_json(self) -> dict[str, Any]:
        """Return the configuration as JSON-ready data."""
        return dataclasses.asdict(self)


def _fits(value: object, annotation: str) -> bool:
    """Tell whether `value` has the type of a runtime setting (`int`, `float | None`, ...)."""
    names = set(annotation.split(" | "))
    if value is None or isinstance(value, (bool, str)):
        return type(value).__name__.replace("NoneType", "None") in names
    if isinstance(value, int):
        return bool(names & {"int", "float"})
    return isinstance(value, float) and "float" in names


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)
