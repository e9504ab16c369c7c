"""Simulator configuration: one frozen dataclass plus the vocabularies it refers to."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

LABELING_STATES = ("Ready", "Active", "Labeled", "Gold Standard", "Canceled", "Flagged")
FAULT_KINDS = (
    "429",
    "500",
    "502",
    "503",
    "reset",
    "truncate",
    "timeout",
    "html200",
    "empty200",
    "bad_utf8",
    "401",
    "403",
)
#: Kinds that only a script can ask for (never drawn at random rates).
SCRIPTED_KINDS = ("future_date", "no_date", "redirect", "stall")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
MISBEHAVIOURS = (
    "payload_not_list",
    "has_next_not_bool",
    "cursor_backwards",
    "cursor_repeat",
    "cursor_cycle",
    "has_next_without_cursor",
    "missing_case_id",
    "missing_labeling_state",
    "wrong_types",
    "empty_pages",
    "has_next_false_with_cursor",
    "v2_shape",
)
LAST_PAGE_STYLES = ("absent", "false")
HAS_NEXT_MODES = ("exact", "full_page")
RETRY_AFTER_STYLES = ("seconds", "http-date")

_NUMBER = (int, float)
#: Settings that `SimCore.set` (and POST /_sim/settings) may change while serving, by type.
SETTING_TYPES: dict[str, tuple[type | None, ...]] = {
    "api_key": (str,),
    "username": (str,),
    "api_password": (str,),
    "static_token": (str, None),
    "page_size": (int,),
    "max_limit": (int,),
    "expose_updated_at": (bool,),
    "last_page_style": (str,),
    "has_next_mode": (str,),
    "gzip": (bool,),
    "gzip_level": (int,),
    "latency_ms": _NUMBER,
    "token_idle_seconds": (*_NUMBER, None),
    "token_expiry_requests": (int, None),
    "restricted_country": (bool,),
    "faults_on_login": (bool,),
    "retry_after": (int,),
    "retry_after_style": (str,),
    "spike_seconds": _NUMBER,
    "date_offset_seconds": _NUMBER,
    "record_requests": (bool,),
    "stall_byte_seconds": _NUMBER,
}
RUNTIME_SETTINGS = frozenset(SETTING_TYPES)


@dataclass(frozen=True)
class SimConfig:
    """Everything that shapes the simulated API; change it with `dataclasses.replace`."""

    host: str = "127.0.0.1"
    port: int = 0
    api_key: str = "demo-api-key"
    username: str = "demo@example.com"
    api_password: str = "demo-api-password"  # noqa: S105 - the documented demo default
    static_token: str | None = None
    tasks: int = 3
    first_task_id: int = 101
    tasks_per_project: int = 2
    cases: int | tuple[int, ...] = 250
    page_size: int = 100
    max_limit: int = 1000
    seed: int = 42
    unsupported_task_ids: tuple[int, ...] = ()
    extra_fields: bool = False
    expose_updated_at: bool = False
    last_page_style: str = "absent"
    has_next_mode: str = "exact"
    first_sequence_id: int = 1
    gzip: bool = True
    gzip_level: int = 1
    latency_ms: float = 0.0
    token_idle_seconds: float | None = None
    token_expiry_requests: int | None = None
    restricted_country: bool = False
    fault_rates: Mapping[str, float] = field(default_factory=dict)
    fault_seed: int = 0
    faults_on_login: bool = False
    retry_after: int = 1
    retry_after_style: str = "seconds"
    spike_seconds: float = 5.0
    #: Shifts the `Date` header of every response (not the clock that stamps updates).
    date_offset_seconds: float = 0.0
    #: Keep every request received (except /_sim/ ones) for `Simulator.requests()`.
    record_requests: bool = False
    #: The `stall` fault sends one byte of the body per this many seconds.
    stall_byte_seconds: float = 1.0
    #: With a certificate (PEM; the key in `tls_keyfile` or in the same file), serve HTTPS.
    tls_certfile: str | None = None
    tls_keyfile: str | None = None

    def __post_init__(self) -> None:
        """Reject values the simulator cannot serve."""
        if isinstance(self.cases, list):
            object.__setattr__(self, "cases", tuple(self.cases))
        counts = self.cases_per_task()
        _require(self.tasks >= 0, "tasks must be >= 0")
        _require(len(counts) == self.tasks, "cases list must have one entry per task")
        _require(all(n >= 0 for n in counts), "cases must be >= 0")
        _require(self.first_task_id >= 1, "first_task_id must be >= 1")
        _require(self.tasks_per_project >= 1, "tasks_per_project must be >= 1")
        _require(self.max_limit >= 1, "max_limit must be >= 1")
        _require(1 <= self.page_size <= self.max_limit, "page_size must be in 1..max_limit")
        _require(self.first_sequence_id >= 0, "first_sequence_id must be >= 0")
        _require(0 <= self.gzip_level <= 9, "gzip_level must be in 0..9")
        _require(self.latency_ms >= 0, "latency_ms must be >= 0")
        _require(self.spike_seconds >= 0, "spike_seconds must be >= 0")
        _require(self.stall_byte_seconds >= 0, "stall_byte_seconds must be >= 0")
        _require(bool(self.tls_certfile or not self.tls_keyfile), "tls_keyfile needs tls_certfile")
        _require(self.retry_after >= 0, "retry_after must be >= 0")
        _require(self.last_page_style in LAST_PAGE_STYLES, f"last_page_style: {LAST_PAGE_STYLES}")
        _require(self.has_next_mode in HAS_NEXT_MODES, f"has_next_mode: {HAS_NEXT_MODES}")
        _require(
            self.retry_after_style in RETRY_AFTER_STYLES,
            f"retry_after_style: {RETRY_AFTER_STYLES}",
        )
        _require(
            self.token_expiry_requests is None or self.token_expiry_requests >= 0,
            "token_expiry_requests must be >= 0",
        )
        _require(
            self.token_idle_seconds is None or self.token_idle_seconds >= 0,
            "token_idle_seconds must be >= 0",
        )
        validate_rates(self.fault_rates)

    def cases_per_task(self) -> tuple[int, ...]:
        """Return the number of cases of each configured task."""
        if isinstance(self.cases, int):
            return (self.cases,) * self.tasks
        return tuple(self.cases)

    def with_settings(self, overrides: Mapping[str, Any]) -> SimConfig:
        """Return a copy with runtime `overrides` applied (ValueError for bad names or values)."""
        for name, value in overrides.items():
            _require(name in SETTING_TYPES, f"not a runtime setting: {name}")
            allowed = SETTING_TYPES[name]
            ok = (value is None and None in allowed) or (
                (not isinstance(value, bool) or bool in allowed)
                and isinstance(value, tuple(t for t in allowed if t is not None))
            )
            _require(ok, f"{name}: wrong type {type(value).__name__}")
        return dataclasses.replace(self, **overrides)

    def to_json(self) -> dict[str, Any]:
        """Return the configuration as JSON-ready data."""
        data = dataclasses.asdict(self)
        data["fault_rates"] = dict(self.fault_rates)
        return data


def validate_rates(rates: Mapping[str, float]) -> None:
    """Check that `rates` maps fault kinds to probabilities summing to at most 1."""
    unknown = sorted(set(rates) - set(FAULT_KINDS))
    _require(not unknown, f"unknown fault kind(s): {', '.join(unknown)}")
    _require(all(0 <= r <= 1 for r in rates.values()), "fault rates must be in 0..1")
    _require(sum(rates.values()) <= 1, "fault rates must sum to at most 1")


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)
