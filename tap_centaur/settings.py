"""The tap's settings: their JSON schema, and their checked, normalised form."""

from __future__ import annotations

import contextlib
import json
import math
import typing as t
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

from singer_sdk import typing as th

from tap_centaur.errors import ConfigError
from tap_centaur.timestamps import parse_start_date

if t.TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

LABELING_STATES = ("Ready", "Active", "Labeled", "Gold Standard", "Canceled", "Flagged")
DEFAULT_API_URL = "https://api.centaurlabs.com"
DEFAULT_REQUEST_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 8
DEFAULT_BACKOFF_FACTOR = 1.0
DEFAULT_MAX_PARALLEL_TASKS = 4
MAX_PARALLEL_TASKS = 32

_STATE_LIST = ", ".join(f"'{state}'" for state in LABELING_STATES)

# Numbers may come as text from environment variables (`--config ENV`, Meltano): the tap
# parses them itself, so a bad value gets a message naming the setting.
_INTEGER_OR_TEXT = th.CustomType({"type": ["integer", "string"]})
_NUMBER_OR_TEXT = th.CustomType({"type": ["number", "string"]})

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "api_key",
        th.StringType,
        required=True,
        secret=True,
        title="API key",
        description="Centaur API key (portal: Organization Settings → API Integration). "
        "Sent as X-API-KEY on every request.",
    ),
    th.Property(
        "username",
        th.StringType,
        title="Username",
        description="Email of the portal account. With api_password, the tap logs in at the "
        "start of the run and again whenever the token expires.",
    ),
    th.Property(
        "api_password",
        th.StringType,
        secret=True,
        title="API password",
        description="API password of the account (not the portal password), generated next to "
        "the API key.",
    ),
    th.Property(
        "bearer_token",
        th.StringType,
        secret=True,
        title="Bearer token",
        description="A ready session token, used as is when username/api_password are not set. "
        "It cannot be renewed: the run fails when it expires.",
    ),
    th.Property(
        "task_ids",
        th.ArrayType(th.CustomType({"type": ["integer", "string"]})),
        title="Task IDs",
        description="Ids of the tasks to extract (the number in go.centaurlabs.com/task/<id>). "
        "Numeric strings are accepted; duplicates are removed. When not set, the tap extracts "
        "every task the API lists (within project_ids when set), new tasks included.",
    ),
    th.Property(
        "project_ids",
        th.ArrayType(th.CustomType({"type": ["integer", "string"]})),
        title="Project IDs",
        description="Limit the tasks stream, and the tasks discovered when task_ids is not set, "
        "to these projects.",
    ),
    th.Property(
        "labeling_state",
        th.CustomType(
            {
                "anyOf": [
                    {"type": "string", "enum": list(LABELING_STATES)},
                    {"type": "array", "items": {"type": "string", "enum": list(LABELING_STATES)}},
                ]
            }
        ),
        title="Labeling state",
        description=f"Only extract cases in this labeling state, or in any of a list of states: "
        f"{_STATE_LIST}. Each state is its own partition with its own bookmark.",
    ),
    th.Property(
        "start_date",
        th.StringType,
        title="Start date",
        description="ISO date or date-time (UTC when no offset is given): the updated_after of "
        "a task's first sync. Without it, the first sync reads every case.",
    ),
    th.Property(
        "api_url",
        th.StringType,
        default=DEFAULT_API_URL,
        title="API URL",
        description="Base URL of the Centaur API.",
    ),
    th.Property(
        "page_size",
        _INTEGER_OR_TEXT,
        title="Page size",
        description="Cases per page, sent as `limit`. The API's own default applies when unset.",
    ),
    th.Property(
        "request_timeout",
        _NUMBER_OR_TEXT,
        default=DEFAULT_REQUEST_TIMEOUT,
        title="Request timeout",
        description="Seconds to wait for the API to answer a request before retrying it.",
    ),
    th.Property(
        "max_retries",
        _INTEGER_OR_TEXT,
        default=DEFAULT_MAX_RETRIES,
        title="Max retries",
        description="Retries of a request after a 429, a 5xx, a reset, a timeout or an "
        "undecodable body, before the run fails.",
    ),
    th.Property(
        "backoff_factor",
        _NUMBER_OR_TEXT,
        default=DEFAULT_BACKOFF_FACTOR,
        title="Backoff factor",
        description="Seconds before the first retry; each retry waits twice as long, up to 60 s. "
        "A 429's Retry-After takes precedence.",
    ),
    th.Property(
        "max_parallel_tasks",
        _INTEGER_OR_TEXT,
        default=DEFAULT_MAX_PARALLEL_TASKS,
        title="Max parallel tasks",
        description=f"Tasks (partitions) fetched at the same time (1 to {MAX_PARALLEL_TASKS}). "
        "Each page is written as soon as it arrives, so records of different tasks may "
        "interleave; a task's records keep the API's order and its STATE follows its last "
        "record. The default, 4, hides most network latency while keeping the load on the API "
        "modest; a run that is stopped re-reads at most this many unfinished tasks (with "
        "batch_config, also those not yet in an announced BATCH).",
    ),
    th.Property(
        "case_ids",
        th.ArrayType(
            th.ObjectType(
                th.Property("task_id", th.IntegerType, required=True),
                th.Property("case_id", th.IntegerType, required=True),
            )
        ),
        title="Case IDs",
        description="Cases to fetch one by one into the case_results stream, as "
        '[{"task_id": 1234, "case_id": 2345}].',
    ),
).to_dict()


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
    api_url: str
    page_size: int | None
    request_timeout: float
    max_retries: int
    backoff_factor: float
    max_parallel_tasks: int
    case_ids: tuple[CaseRef, ...]


def parse_settings(config: Mapping[str, t.Any]) -> Settings:
    """Check the raw config and return its normalised form.

    Raises:
        ConfigError: naming the first setting at fault and how to fix it.
    """
    return Settings(
        credentials=_credentials(config),
        task_ids=_ids("task_ids", config.get("task_ids")),
        project_ids=_ids("project_ids", config.get("project_ids")),
        labeling_states=_labeling_states(config.get("labeling_state")),
        start_date=_start_date(config.get("start_date")),
        api_url=_api_url(config.get("api_url", DEFAULT_API_URL)),
        page_size=_optional_int(config, "page_size", minimum=1),
        request_timeout=_positive_number(config, "request_timeout", DEFAULT_REQUEST_TIMEOUT),
        max_retries=_optional_int(config, "max_retries", minimum=0, default=DEFAULT_MAX_RETRIES),
        backoff_factor=_non_negative_number(config, "backoff_factor", DEFAULT_BACKOFF_FACTOR),
        max_parallel_tasks=_optional_int(
            config,
            "max_parallel_tasks",
            minimum=1,
            maximum=MAX_PARALLEL_TASKS,
            default=DEFAULT_MAX_PARALLEL_TASKS,
        ),
        case_ids=_case_ids(config.get("case_ids")),
    )


def _is_set(value: object) -> bool:
    return value is not None and value != ""


def _secret(config: Mapping[str, t.Any], name: str) -> str | None:
    value = config.get(name)
    if not _is_set(value):
        return None
    if not isinstance(value, str):
        # Never echo the value: it is (or may be) a credential.
        raise ConfigError(name, f"must be a string, got a {type(value).__name__}.")
    return value


def _credentials(config: Mapping[str, t.Any]) -> Credentials:
    api_key = _secret(config, "api_key")
    if api_key is None:
        raise ConfigError(
            "api_key",
            "is required.",
            "Generate it in the Centaur portal under Organization Settings → API Integration.",
        )
    username = _secret(config, "username")
    api_password = _secret(config, "api_password")
    bearer_token = _secret(config, "bearer_token")
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
    ids: dict[int, None] = {}
    for item in _as_list(setting, value):
        ids[_id(setting, item)] = None
    return tuple(ids)


def _id(setting: str, item: object) -> int:
    example = "Use integers, e.g. [1234]."
    if isinstance(item, bool):
        raise ConfigError(setting, f"{item!r} is not an id.", example)
    if isinstance(item, int):
        number = item
    elif isinstance(item, str) and item.strip().isdigit():
        number = int(item.strip())
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
        return parse_start_date(value)
    except ValueError:
        raise ConfigError(
            "start_date",
            f"{value!r} is not an ISO date or date-time.",
            "Use e.g. 2024-01-31 or 2024-01-31T12:00:00Z.",
        ) from None


def _api_url(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("api_url", "must be a URL such as https://api.centaurlabs.com.")
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            "api_url",
            f"{value!r} is not an http(s) URL.",
            "Include the scheme, e.g. https://api.centaurlabs.com.",
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError("api_url", "must not carry a query, fragment or credentials.")
    return url


@t.overload
def _optional_int(
    config: Mapping[str, t.Any], name: str, *, minimum: int, maximum: int | None = None
) -> int | None: ...
@t.overload
def _optional_int(
    config: Mapping[str, t.Any],
    name: str,
    *,
    minimum: int,
    maximum: int | None = None,
    default: int,
) -> int: ...
def _optional_int(
    config: Mapping[str, t.Any],
    name: str,
    *,
    minimum: int,
    maximum: int | None = None,
    default: int | None = None,
) -> int | None:
    value = config.get(name)
    if value is None:
        return default
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():  # environment variables
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, f"must be an integer, got {value!r}.")
    if value < minimum:
        raise ConfigError(name, f"must be at least {minimum}, got {value}.")
    if maximum is not None and value > maximum:
        raise ConfigError(name, f"must be at most {maximum}, got {value}.")
    return value


def _number(config: Mapping[str, t.Any], name: str, default: float) -> float:
    value = config.get(name)
    if value is None:
        return default
    if isinstance(value, str):  # environment variables arrive as text
        with contextlib.suppress(ValueError):
            value = float(value)
    # The SDK reads JSON config files with decimals for non-integers.
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ConfigError(name, f"must be a number of seconds, got {value!r}.")
    if not math.isfinite(value):
        raise ConfigError(name, f"must be a finite number of seconds, got {value!r}.")
    return float(value)


def _positive_number(config: Mapping[str, t.Any], name: str, default: float) -> float:
    number = _number(config, name, default)
    if number <= 0:
        raise ConfigError(name, f"must be greater than 0, got {number:g}.")
    return number


def _non_negative_number(config: Mapping[str, t.Any], name: str, default: float) -> float:
    number = _number(config, name, default)
    if number < 0:
        raise ConfigError(name, f"must not be negative, got {number:g}.")
    return number


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
