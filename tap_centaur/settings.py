"""The tap's settings: one declaration each, from which the JSON schema and the parser follow."""

from __future__ import annotations

import copy
import ipaddress
import json
import logging
import math
import re
import typing as t
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from urllib.parse import urlsplit

from jsonschema import Draft7Validator

from tap_centaur.clock import format_bookmark, parse_start_date
from tap_centaur.errors import ConfigError
from tap_centaur.redaction import excerpt

if t.TYPE_CHECKING:
    from collections.abc import Mapping

LABELING_STATES = ("Ready", "Active", "Labeled", "Gold Standard", "Canceled", "Flagged")
DEFAULT_API_URL = "https://api.centaurlabs.com"
MAX_PARALLEL_TASKS = 32
#: Bounds of the settings that have one besides their type (checked before any request).
MAX_LOOKBACK_SECONDS = 365 * 86400
MIN_REQUEST_TIMEOUT, MAX_REQUEST_TIMEOUT = 0.1, 3600
MAX_RETRIES = 100
MAX_BACKOFF_FACTOR = 60
MAX_STATE_INTERVAL = 86400
#: Past 2**43 MiB, zlib's output limit overflows (Unexpected error once a gzip page arrives).
MAX_RESPONSE_MB = 4096
DRAFT_7 = "http://json-schema.org/draft-07/schema#"

_STATE_LIST = ", ".join(f"'{state}'" for state in LABELING_STATES)
#: Numbers may come as text from environment variables (`--config ENV`, Meltano).
_NUMERIC_TEXT = r"^\s*[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?\s*$"
_ID_TEXT = r"^\s*[0-9]+\s*$"
_ID = {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": _ID_TEXT}]}
_STATE = {"type": "string", "enum": list(LABELING_STATES)}
_CREDENTIAL_TEXT = (
    "Leading and trailing whitespace (a newline at the end of a secret file) is ignored; "
    "any other character that an HTTP header cannot carry (a control character, a non-ASCII "
    "character such as a typographic quote) is refused."
)


@dataclass(frozen=True)
class Setting:
    """One setting: its JSON schema, documentation, and how its value is read."""

    name: str
    title: str
    description: str
    schema: dict[str, t.Any]
    default: object = None
    required: bool = False
    secret: bool = False

    def json_schema(self) -> dict[str, t.Any]:
        """The setting's property in the config schema (Draft 7); optional ones may be null."""
        prop: dict[str, t.Any] = {**self.schema, "title": self.title}
        if not self.required:
            if "anyOf" in prop:
                prop["anyOf"] = [*prop["anyOf"], {"type": "null"}]
            else:
                prop["type"] = [prop["type"], "null"]
        prop["description"] = self.description
        if self.default is not None:
            prop["default"] = self.default
        if self.secret:
            prop["secret"] = True  # the SDK's and Meltano's marker for credentials
            prop["writeOnly"] = True
        return prop


def _integer(minimum: int, maximum: int | None = None) -> dict[str, t.Any]:
    integer: dict[str, t.Any] = {"type": "integer", "minimum": minimum}
    if maximum is not None:
        integer["maximum"] = maximum
    return {"anyOf": [integer, {"type": "string", "pattern": _ID_TEXT}]}


def _number(minimum: float, maximum: float) -> dict[str, t.Any]:
    number = {"type": "number", "minimum": minimum, "maximum": maximum}
    return {"anyOf": [number, {"type": "string", "pattern": _NUMERIC_TEXT}]}


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "api_key",
        "API key",
        "Centaur API key (portal: Organization Settings → API Integration). Sent as X-API-KEY "
        f"on every request. {_CREDENTIAL_TEXT}",
        {"type": "string"},
        required=True,
        secret=True,
    ),
    Setting(
        "username",
        "Username",
        "Email of the portal account. With api_password, the tap logs in at the start of the "
        "run and again whenever the token expires. Leading and trailing whitespace is ignored; "
        "a control character is refused.",
        {"type": "string", "format": "email"},
    ),
    Setting(
        "api_password",
        "API password",
        "API password of the account (not the portal password), generated next to the API key. "
        f"{_CREDENTIAL_TEXT}",
        {"type": "string"},
        secret=True,
    ),
    Setting(
        "bearer_token",
        "Bearer token",
        "A ready session token, used as is when username/api_password are not set. It cannot "
        f"be renewed: the run fails when it expires. {_CREDENTIAL_TEXT}",
        {"type": "string"},
        secret=True,
    ),
    Setting(
        "task_ids",
        "Task IDs",
        "Ids of the tasks to extract (the number in go.centaurlabs.com/task/<id>). Numeric "
        "strings are accepted; duplicates are removed. When not set, the tap extracts every "
        "task the API lists (within project_ids when set), new tasks included.",
        {"type": "array", "items": _ID},
    ),
    Setting(
        "project_ids",
        "Project IDs",
        "Limit the tasks stream, and the tasks discovered when task_ids is not set, to these "
        "projects.",
        {"type": "array", "items": _ID},
    ),
    Setting(
        "labeling_state",
        "Labeling state",
        f"Only extract cases in this labeling state, or in any of a list of states: "
        f"{_STATE_LIST}. Each state is its own partition with its own bookmark.",
        {
            "anyOf": [
                _STATE,
                {"type": "array", "items": _STATE},
                # A JSON list as text, from an environment variable (checked by the tap).
                {"type": "string", "pattern": r"^\s*\["},
            ]
        },
    ),
    Setting(
        "start_date",
        "Start date",
        "ISO date or date-time (UTC when no offset is given): the updated_after of a task's "
        "first sync. Without it, the first sync reads every case. A date later than now is "
        "refused (a typo would read nothing and bookmark the present).",
        {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "string", "format": "date"},
            ]
        },
    ),
    Setting(
        "lookback_seconds",
        "Lookback",
        "Seconds each new bookmark is moved back, so that cases stamped by a clock that lags "
        "the API's Date header (or this machine's clock) are read again rather than skipped. "
        "Re-read cases are deduplicated by targets on the primary key. At most 365 days.",
        _integer(0, MAX_LOOKBACK_SECONDS),
        default=300,
    ),
    Setting(
        "api_url",
        "API URL",
        "Base URL of the Centaur API. Plain http:// is accepted only for a loopback host (a "
        "local simulator): credentials never travel in clear text.",
        {"type": "string", "format": "uri"},
        default=DEFAULT_API_URL,
    ),
    Setting(
        "page_size",
        "Page size",
        "Cases per page, sent as `limit`. The API's own default applies when unset.",
        _integer(1),
    ),
    Setting(
        "request_timeout",
        "Request timeout",
        "Seconds a request may take, from sending it to the last byte of the answer, before it "
        f"is retried ({MIN_REQUEST_TIMEOUT:g} to {MAX_REQUEST_TIMEOUT:g}).",
        _number(MIN_REQUEST_TIMEOUT, MAX_REQUEST_TIMEOUT),
        default=60,
    ),
    Setting(
        "max_retries",
        "Max retries",
        "Retries of a request after a 429, a 5xx, a reset, a timeout or an undecodable body, "
        f"before the task fails (at most {MAX_RETRIES}).",
        _integer(0, MAX_RETRIES),
        default=8,
    ),
    Setting(
        "backoff_factor",
        "Backoff factor",
        "Seconds before the first retry; each retry waits twice as long, up to 60 s. A 429's "
        f"Retry-After takes precedence (0 to {MAX_BACKOFF_FACTOR}).",
        _number(0, MAX_BACKOFF_FACTOR),
        default=1,
    ),
    Setting(
        "max_parallel_tasks",
        "Max parallel tasks",
        f"Tasks (partitions) fetched at the same time (1 to {MAX_PARALLEL_TASKS}). Each page is "
        "written as soon as it arrives, so records of different tasks may interleave; a task's "
        "records keep the API's order. The default, 4, hides most network latency while "
        "keeping the load on the API modest.",
        _integer(1, MAX_PARALLEL_TASKS),
        default=4,
    ),
    Setting(
        "state_interval_seconds",
        "STATE interval",
        "While tasks complete, a STATE message is written at most once per this many seconds "
        "(and always after the last record): STATE output grows with the number of tasks, and "
        "a run that is killed re-reads at most the tasks finished since its last STATE. 0 "
        f"writes one after every task (at most {MAX_STATE_INTERVAL:,}).",
        _number(0, MAX_STATE_INTERVAL),
        default=5,
    ),
    Setting(
        "max_consecutive_task_failures",
        "Max consecutive task failures",
        "The run stops early when this many tasks in a row fail because the API itself keeps "
        "failing (5xx, timeouts, connection errors outlasting max_retries), instead of trying "
        "every remaining task. Failures that belong to one task (404, a bad page) never count.",
        _integer(1),
        default=3,
    ),
    Setting(
        "max_response_mb",
        "Max response size (MiB)",
        f"Largest answer the tap reads, in MiB once decompressed (1 to {MAX_RESPONSE_MB:,}), "
        "counting 128 bytes more for each JSON object, list and item (what it takes in memory "
        "once decoded), checked while it arrives. The default, 256, is far above any real page "
        "(1,000 cases of a few KB each count about 5 MB). A larger answer (a compression "
        "bomb, a body that never ends) fails its task, or the run when it is the login or "
        "the task or project list, without being held in memory: memory stays under about "
        "this much per max_parallel_tasks.",
        _integer(1, MAX_RESPONSE_MB),
        default=256,
    ),
    Setting(
        "max_empty_pages",
        "Max empty pages in a row",
        "A task fails (the run stops, for the task or project list) after this many pages in "
        "a row that bring no record while has_next says more follow: pagination that never "
        "ends, ends. The default, 10,000, is a scan of 1,000,000 cases at the API's default "
        "page of 100 without a single match (a rare labeling_state over a huge task); raise it "
        "for larger tasks filtered that way, or with a small page_size.",
        _integer(1),
        default=10000,
    ),
    Setting(
        "shard_count",
        "Shard count",
        "Split the tasks between this many jobs, each with its own state: a task (and each "
        "case_ids entry) belongs to shard task_id % shard_count.",
        _integer(1),
        default=1,
    ),
    Setting(
        "shard_index",
        "Shard index",
        "Which shard this job syncs (0 to shard_count - 1). Only shard 0 emits the projects "
        "stream.",
        _integer(0),
        default=0,
    ),
    Setting(
        "case_ids",
        "Case IDs",
        'Cases to fetch one by one into the case_results stream, as [{"task_id": 1234, '
        '"case_id": 2345}].',
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"task_id": _integer(1), "case_id": _integer(1)},
                "required": ["task_id", "case_id"],
                "additionalProperties": False,
            },
        },
    ),
)

CONFIG_SCHEMA: dict[str, t.Any] = {
    "$schema": DRAFT_7,
    "type": "object",
    "properties": {setting.name: setting.json_schema() for setting in SETTINGS},
    "required": [setting.name for setting in SETTINGS if setting.required],
}
#: The tap's own settings' schema (the SDK adds its built-in settings to CONFIG_SCHEMA).
_OWN_SCHEMA = Draft7Validator(copy.deepcopy(CONFIG_SCHEMA))
_SETTING_NAMES = frozenset(setting.name for setting in SETTINGS)
DEFAULTS: dict[str, object] = {s.name: s.default for s in SETTINGS if s.default is not None}
#: Settings whose environment variables the SDK converts with int() (see `check_environment`).
INTEGER_SETTINGS = tuple(
    s.name
    for s in SETTINGS
    if {"type": "integer"}.items() <= s.schema.get("anyOf", [{}])[0].items()
)


@dataclass(frozen=True)
class Credentials:
    """How the tap authenticates: with a login (username + API password) or a fixed token."""

    api_key: str
    username: str | None = None
    api_password: str | None = None
    bearer_token: str | None = None

    @property
    def can_login(self) -> bool:
        """Whether the tap can obtain (and renew) tokens itself."""
        return self.username is not None

    def __repr__(self) -> str:
        """Never show the secrets."""
        method = "login" if self.can_login else "bearer_token"
        return f"Credentials(method={method!r})"


@dataclass(frozen=True)
class CaseRef:
    """One case to fetch for the case_results stream."""

    task_id: int
    case_id: int


@dataclass(frozen=True)
class Settings:
    """The tap's settings, checked and normalised."""

    credentials: Credentials
    task_ids: tuple[int, ...]
    project_ids: tuple[int, ...]
    labeling_states: tuple[str, ...]
    start_date: datetime | None
    lookback_seconds: int
    api_url: str
    page_size: int | None
    request_timeout: float
    max_retries: int
    backoff_factor: float
    max_parallel_tasks: int
    state_interval_seconds: float
    max_consecutive_task_failures: int
    max_response_mb: int
    max_empty_pages: int
    shard_count: int
    shard_index: int
    case_ids: tuple[CaseRef, ...]

    def in_shard(self, task_id: int) -> bool:
        """Whether this job syncs `task_id` (a task's shard never changes with the task list)."""
        return task_id % self.shard_count == self.shard_index


def parse_settings(config: Mapping[str, t.Any]) -> Settings:
    """Check the raw config and return its normalised form.

    Raises:
        ConfigError: naming the first setting at fault and how to fix it.
    """
    values = {**DEFAULTS, **{k: v for k, v in config.items() if v is not None}}
    settings = Settings(
        credentials=_credentials(values),
        task_ids=_ids("task_ids", values.get("task_ids")),
        project_ids=_ids("project_ids", values.get("project_ids")),
        labeling_states=_labeling_states(values.get("labeling_state")),
        start_date=_start_date(values.get("start_date")),
        lookback_seconds=_int(values, "lookback_seconds", 0, MAX_LOOKBACK_SECONDS),
        api_url=_api_url(values["api_url"]),
        page_size=_int(values, "page_size", minimum=1) if "page_size" in values else None,
        request_timeout=_seconds(
            values, "request_timeout", MIN_REQUEST_TIMEOUT, MAX_REQUEST_TIMEOUT
        ),
        max_retries=_int(values, "max_retries", 0, MAX_RETRIES),
        backoff_factor=_seconds(values, "backoff_factor", 0, MAX_BACKOFF_FACTOR),
        max_parallel_tasks=_int(values, "max_parallel_tasks", 1, MAX_PARALLEL_TASKS),
        state_interval_seconds=_seconds(values, "state_interval_seconds", 0, MAX_STATE_INTERVAL),
        max_consecutive_task_failures=_int(values, "max_consecutive_task_failures", minimum=1),
        max_response_mb=_int(values, "max_response_mb", 1, MAX_RESPONSE_MB),
        max_empty_pages=_int(values, "max_empty_pages", minimum=1),
        shard_count=_int(values, "shard_count", minimum=1),
        shard_index=_int(values, "shard_index", minimum=0),
        case_ids=_case_ids(values.get("case_ids")),
    )
    if settings.shard_index >= settings.shard_count:
        raise ConfigError(
            "shard_index",
            f"is {settings.shard_index}, but shard_count is {settings.shard_count}.",
            "Use 0 to shard_count - 1, one value per job.",
        )
    _check_schema(config)
    return settings


def _check_schema(config: Mapping[str, t.Any]) -> None:
    """What the SDK checks next, the settings' schema, must not fail on a tap setting.

    (The SDK's message would be exit code 1 and may echo the value.)

    Raises:
        ConfigError: naming the first setting the schema refuses.
    """
    own = {name: value for name, value in config.items() if name in _SETTING_NAMES}
    for error in _OWN_SCHEMA.iter_errors(own):
        name = str(error.absolute_path[0]) if error.absolute_path else "config"
        raise ConfigError(
            name, "does not have the type this setting takes.", "See README.md, Settings."
        )


def check_environment(environ: Mapping[str, str], prefix: str) -> None:
    """Refuse integer settings from the environment that the SDK cannot convert.

    The SDK converts `<PREFIX><NAME>` of an integer setting with int(), which raises a bare
    ValueError for any other text; this names the setting instead.

    Raises:
        ConfigError: naming the setting whose variable is not an integer.
    """
    for name in INTEGER_SETTINGS:
        value = environ.get(prefix + name.upper())
        if value is not None and not re.fullmatch(r"\s*[-+]?[0-9]+\s*", value):
            raise ConfigError(
                name, f"{prefix}{name.upper()}='{excerpt(value, 40)}' is not an integer."
            )


def check_log_level(environ: Mapping[str, str], prefix: str) -> None:
    """Refuse a log level the SDK would fail on (`<PREFIX>LOGLEVEL`, else `LOGLEVEL`).

    Raises:
        ConfigError: naming the variable and the level.
    """
    name = f"{prefix}LOGLEVEL" if environ.get(f"{prefix}LOGLEVEL") else "LOGLEVEL"
    level = environ.get(name)
    if level and not isinstance(logging.getLevelName(level.upper()), int):
        raise ConfigError(
            name,
            f"'{excerpt(level, 40)}' is not a log level.",
            "Use DEBUG, INFO, WARNING or ERROR.",
        )


def _is_set(value: object) -> bool:
    return value is not None and value != ""


def _credential(config: Mapping[str, t.Any], name: str, *, in_header: bool = True) -> str | None:
    """A credential without surrounding whitespace; never echoed (it is, or may be, a secret).

    Raises:
        ConfigError: for a value that is not text, or holds a character a request cannot
            carry (`in_header`: only printable ASCII; else no control character).
    """
    value = config.get(name)
    if not _is_set(value):
        return None
    if not isinstance(value, str):
        raise ConfigError(name, f"must be a string, got a {type(value).__name__}.")
    text = value.strip()
    for char in text:
        if not (" " <= char <= "~" if in_header else char.isprintable()):
            kind = "a control" if not char.isprintable() else "a non-ASCII"
            raise ConfigError(
                name,
                f"holds {kind} character (U+{ord(char):04X}), which an HTTP request cannot "
                "carry; its value is not shown.",
                "Copy it again from where it was issued, as plain text.",
            )
    return text or None


def _credentials(config: Mapping[str, t.Any]) -> Credentials:
    api_key = _credential(config, "api_key")
    if api_key is None:
        raise ConfigError(
            "api_key",
            "is required.",
            "Generate it in the Centaur portal under Organization Settings → API Integration.",
        )
    username = _credential(config, "username", in_header=False)
    api_password = _credential(config, "api_password")
    bearer_token = _credential(config, "bearer_token")
    if username is not None and api_password is None:
        raise ConfigError("api_password", "is required when username is set.")
    if api_password is not None and username is None:
        raise ConfigError("username", "is required when api_password is set.")
    if username is not None and bearer_token is not None:
        raise ConfigError(
            "bearer_token",
            "cannot be combined with username + api_password.",
            "Set either bearer_token, or username and api_password (recommended: the tap then "
            "renews expired tokens).",
        )
    if username is None and bearer_token is None:
        raise ConfigError(
            "username/api_password",
            "no way to authenticate is configured.",
            "Set username and api_password (recommended), or bearer_token.",
        )
    return Credentials(api_key, username, api_password, bearer_token)


def _as_list(setting: str, value: object) -> list[object]:
    """Accept a list, or a JSON list / comma-separated string (environment variables)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise ConfigError(setting, "is not a valid JSON list.") from None
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(value, list):
        raise ConfigError(setting, f"must be a list, got {type(value).__name__}.")
    return value


def _ids(setting: str, value: object) -> tuple[int, ...]:
    """Positive integer ids (numeric strings accepted), without duplicates, in order."""
    if value is None or value in ([], ""):
        return ()
    return tuple(dict.fromkeys(_id(setting, item) for item in _as_list(setting, value)))


def _id(setting: str, item: object) -> int:
    example = "Use integers, e.g. [1234]."
    if isinstance(item, bool):
        raise ConfigError(setting, f"{item!r} is not an id.", example)
    if isinstance(item, int):
        number = item
    elif isinstance(item, str) and re.search(_ID_TEXT, item):
        number = int(item)
    elif isinstance(item, str) and ("[" in item or "]" in item):
        # The SDK splits a variable that is not valid JSON at its commas: '[1,2' -> '[1', '2'.
        raise ConfigError(
            setting,
            f"{item!r} is not an id: the value looks like a JSON list that does not parse.",
            "Write a complete JSON list, e.g. [1234, 5678], or ids with commas: 1234,5678.",
        )
    else:
        raise ConfigError(setting, f"{item!r} is not an id.", example)
    if number <= 0:
        raise ConfigError(setting, f"{number} is not an id: ids are positive integers.")
    return number


def _labeling_states(value: object) -> tuple[str, ...]:
    if value is None or value in ("", []):
        return ()
    items = [value] if isinstance(value, str) and not value.startswith("[") else value
    states: dict[str, None] = {}
    for item in _as_list("labeling_state", items):
        if item not in LABELING_STATES:
            raise ConfigError(
                "labeling_state",
                f"{item!r} is not a labeling state.",
                f"Allowed values: {_STATE_LIST}.",
            )
        states[item] = None
    return tuple(states)


def _start_date(value: object) -> datetime | None:
    if not _is_set(value):
        return None
    if not isinstance(value, str):
        raise ConfigError("start_date", f"must be a string, got {type(value).__name__}.")
    try:
        start = parse_start_date(value)
    except ValueError:
        raise ConfigError(
            "start_date",
            f"{value!r} is not an ISO date or date-time.",
            "Use e.g. 2024-01-31 or 2024-01-31T12:00:00Z.",
        ) from None
    now = datetime.now(timezone.utc)
    if start > now:
        # The first sync would read nothing and bookmark now: the history before it would
        # never be read (issue 19), so a date in the future is a typo, refused.
        raise ConfigError(
            "start_date",
            f"{value!r} ({format_bookmark(start)}) is later than now ({format_bookmark(now)} "
            "by this machine's clock): the first sync would read nothing and bookmark the "
            "present, so the cases before it would never be read.",
            "Use a date in the past, e.g. 2024-01-31, or leave start_date unset to read every "
            "case.",
        )
    return start


def _api_url(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("api_url", "must be a URL such as https://api.centaurlabs.com.")
    url = value.strip().rstrip("/")
    head, at, host = url.rpartition("@")
    if at:  # whatever else is wrong: a password before the @ is never shown
        scheme = head.partition("://")[0] + "://" if "://" in head else ""
        raise ConfigError(
            "api_url",
            f"'{excerpt(scheme)}...@{excerpt(host, 80)}' carries credentials (user:password@).",
            "Remove them: the tap authenticates with api_key and username/api_password.",
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            "api_url",
            f"'{excerpt(value, 80)}' is not an http(s) URL.",
            "Include the scheme, e.g. https://api.centaurlabs.com.",
        )
    if parts.query or parts.fragment:
        raise ConfigError("api_url", "must not carry a query or fragment.")
    try:
        _ = parts.port
    except ValueError:
        raise ConfigError("api_url", f"'{excerpt(value, 80)}' has an invalid port.") from None
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigError(
            "api_url",
            f"http://{parts.hostname} would send the API password and key in clear text.",
            "Use https:// (plain http is accepted only for a local simulator on a loopback "
            "address).",
        )
    return url


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _int(config: Mapping[str, t.Any], name: str, minimum: int, maximum: int | None = None) -> int:
    value = config.get(name)
    if isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]+\s*", value):  # environment variables
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, f"must be an integer, got {_shown(value)}.")
    if value < minimum:
        raise ConfigError(name, f"must be at least {minimum}, got {value}.")
    if maximum is not None and value > maximum:
        raise ConfigError(name, f"must be at most {maximum}, got {value}.")
    return value


def _seconds(config: Mapping[str, t.Any], name: str, minimum: float, maximum: float) -> float:
    value = config.get(name)
    if isinstance(value, str) and re.search(_NUMERIC_TEXT, value):  # environment variables
        value = float(value)
    # The SDK reads JSON config files with decimals for non-integers.
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ConfigError(name, f"must be a number of seconds, got {_shown(value)}.")
    number = float(value)
    if not math.isfinite(number):
        raise ConfigError(name, f"must be a finite number of seconds, got {_shown(value)}.")
    if not minimum <= number <= maximum:
        raise ConfigError(name, f"must be {minimum:g} to {maximum:g} seconds, got {number:g}.")
    return number


def _shown(value: object) -> str:
    """A setting's value in a message (JSON numbers arrive as Decimal)."""
    return excerpt(str(value) if isinstance(value, Decimal) else repr(value), 40)


def _case_ids(value: object) -> tuple[CaseRef, ...]:
    if value is None or value == []:
        return ()
    refs: dict[CaseRef, None] = {}
    for item in _as_list("case_ids", value):
        if not isinstance(item, dict) or set(item) != {"task_id", "case_id"}:
            raise ConfigError(
                "case_ids",
                f"{item!r} is not a case reference.",
                'Use objects like {"task_id": 1234, "case_id": 2345}.',
            )
        ids = [item["task_id"], item["case_id"]]
        if not all(type(number) is int and number > 0 for number in ids):
            raise ConfigError("case_ids", f"{item!r}: task_id and case_id must be positive ints.")
        refs[CaseRef(task_id=ids[0], case_id=ids[1])] = None
    return tuple(refs)


def draft7(schema: dict[str, t.Any]) -> dict[str, t.Any]:
    """Make a settings schema valid Draft 7: the SDK's built-ins list `"null"` in `anyOf`."""

    def repair(node: object) -> object:
        if isinstance(node, dict):
            return {
                key: [{"type": "null"} if item == "null" else repair(item) for item in value]
                if key in ("anyOf", "oneOf") and isinstance(value, list)
                else repair(value)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [repair(item) for item in node]
        return node

    repaired = t.cast("dict[str, t.Any]", repair(schema))
    repaired["$schema"] = DRAFT_7
    return repaired
