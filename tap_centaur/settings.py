"""The tap's settings, each declared once: a `Settings` field with its type and `th.Property`.

`parse_settings` converts a config with msgspec (the one parser of numeric strings), checks it
against the schema (`CONFIG_SCHEMA`), then the rules that span settings.
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing as t
from datetime import datetime

import msgspec
from jsonschema import Draft7Validator
from singer_sdk import typing as th

from tap_centaur.errors import ConfigError
from tap_centaur.redaction import excerpt
from tap_centaur.setting_checks import CHECKS, stripped

if t.TYPE_CHECKING:
    from collections.abc import Mapping

LABELING_STATES = ("Ready", "Active", "Labeled", "Gold Standard", "Canceled", "Flagged")
DEFAULT_API_URL = "https://api.centaurlabs.com"
DRAFT_7 = "http://json-schema.org/draft-07/schema#"
SEE_README = "See README.md, Settings."

_STATE = th.StringType(allowed_values=list(LABELING_STATES))
_CREDENTIAL_TEXT = (
    "Surrounding whitespace (a secret file's last newline) is ignored; a character no HTTP "
    "header can carry (a control or non-ASCII character, a typographic quote) is refused."
)


# Numbers as text (environment variables), which msgspec parses, pass the SDK's schema check.
def _integer(minimum: int, maximum: int | None = None) -> th.AnyOf:
    integer = th.IntegerType(minimum=minimum, maximum=maximum)
    return th.AnyOf(integer, th.StringType(pattern=r"^\s*[0-9]+\s*$"))


def _number(minimum: float, maximum: int) -> th.AnyOf:
    number = th.NumberType(minimum=minimum, maximum=maximum)  # type: ignore[arg-type]
    return th.AnyOf(number, th.StringType(pattern=r"^\s*[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?\s*$"))


_ID = _integer(1)
_CASE = th.ObjectType(
    *(th.Property(name, _ID, required=True) for name in ("task_id", "case_id")),
    additional_properties=False,
)


def _setting(
    wrapped: th.JSONTypeHelper[t.Any] | type[th.JSONTypeHelper[t.Any]],
    title: str,
    default: object,
    description: str,
    *,
    unset: object = None,
    **flags: bool,
) -> t.Any:  # noqa: ANN401
    """A `Settings` field declared by its `th.Property` arguments; its annotation types it."""
    declaration = dict(wrapped=wrapped, title=title, default=default, description=description)
    value = dataclasses.MISSING if flags.get("required") else unset if default is None else default
    return dataclasses.field(
        default=value, repr=not flags.get("secret"), metadata={**declaration, **flags}
    )


@dataclasses.dataclass(frozen=True)
class CaseRef:
    """One case to fetch for the case_results stream."""

    task_id: int
    case_id: int


# fmt: off
@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """The tap's settings, checked and normalised: each field declares one setting."""

    api_key: str = _setting(th.StringType, "API key", None,
        "Centaur API key (portal: Organization Settings → API Integration), sent as X-API-KEY. "
        f"{_CREDENTIAL_TEXT}", required=True, secret=True)
    username: str | None = _setting(th.EmailType, "Username", None,
        "Email of the portal account. With api_password, the tap logs in, and again whenever "
        "the token expires. Surrounding whitespace is ignored; a control character is refused.")
    api_password: str | None = _setting(th.StringType, "API password", None,
        "API password of the account (not the portal password), generated next to the API key. "
        f"{_CREDENTIAL_TEXT}", secret=True)
    bearer_token: str | None = _setting(th.StringType, "Bearer token", None,
        "A ready session token, used when username/api_password are not set. It cannot be "
        f"renewed: the run fails when it expires. {_CREDENTIAL_TEXT}", secret=True)
    task_ids: tuple[int, ...] = _setting(th.ArrayType(_ID), "Task IDs", None,
        "Tasks to extract (the number in go.centaurlabs.com/task/<id>); duplicates are removed. "
        "Unset: every task the API lists (within project_ids), new ones included.", unset=())
    project_ids: tuple[int, ...] = _setting(th.ArrayType(_ID), "Project IDs", None,
        "Limit the tasks stream, and the tasks discovered when task_ids is not set, to these "
        "projects.", unset=())
    labeling_state: tuple[str, ...] = _setting(
        th.AnyOf(_STATE, th.ArrayType(_STATE), th.StringType(pattern=r"^\s*\[")),  # JSON text
        "Labeling state", None, "Only extract cases in this state, or in any of a list: "
        f"{', '.join(map(repr, LABELING_STATES))}. Each state is a partition with its own "
        "bookmark.", unset=())
    start_date: datetime | None = _setting(  # noqa: RUF009
        th.AnyOf(th.DateTimeType, th.DateType), "Start date", None,
        "ISO date or date-time (UTC when no offset is given): a task's first updated_after; "
        "unset, the first sync reads every case. A date later than now is refused.")
    lookback_seconds: int = _setting(_integer(0, 365 * 86400), "Lookback", 300,
        "Seconds each new bookmark is moved back, so that cases stamped by a lagging clock are "
        "read again, not skipped (targets deduplicate by primary key). At most 365 days.")
    api_url: str = _setting(th.URIType, "API URL", DEFAULT_API_URL,
        "Base URL of the Centaur API (https://; http:// only for a loopback host, a simulator).")
    page_size: int | None = _setting(_integer(1), "Page size", None,
        "Cases per page, sent as `limit` (unset: the API's default).")
    request_timeout: float = _setting(_number(0.1, 3600), "Request timeout", 60,
        "Seconds from sending a request to its answer's last byte, before a retry (0.1 to 3600).")
    max_retries: int = _setting(_integer(0, 100), "Max retries", 8,
        "Retries after a 429, a 5xx, a reset, a timeout or an undecodable body (at most 100).")
    backoff_factor: float = _setting(_number(0, 60), "Backoff factor", 1,
        "Seconds before the first retry, doubled each retry up to 60 s; Retry-After wins (0-60).")
    max_parallel_tasks: int = _setting(_integer(1, 32), "Max parallel tasks", 4,
        "Tasks fetched at once (1 to 32); their records interleave, each task's in API order.")
    state_interval_seconds: float = _setting(_number(0, 86400), "STATE interval", 5,
        "Seconds at least between STATE messages while tasks complete (one always follows the "
        "last record); 0 writes one after every task (at most 86,400).")
    max_consecutive_task_failures: int = _setting(_integer(1), "Max consecutive task failures",
        3, "The run stops once this many tasks in a row fail because the API keeps failing (5xx, "
        "timeouts, connection errors past max_retries); a 404 or a bad page never counts.")
    # Past 2**43 MiB, zlib's output limit overflows (Unexpected error once a gzip page arrives).
    max_response_mb: int = _setting(_integer(1, 4096), "Max response size (MiB)", 256,
        "Largest answer read, in MiB once decompressed, plus 128 bytes per JSON object, list and "
        "item (1 to 4,096). A larger one fails its task (the run, for the login or the task or "
        "project list) without being held in memory.")
    max_empty_pages: int = _setting(_integer(1), "Max empty pages in a row", 10000,
        "A task fails (the run, for the task or project list) after this many pages in a row "
        "without a record while has_next says more follow. Raise it for a huge task filtered by "
        "a rare labeling_state, or with a small page_size.")
    shard_count: int = _setting(_integer(1), "Shard count", 1,
        "Split the tasks between this many jobs, each with its own state: a task (and each "
        "case_ids entry) belongs to shard task_id % shard_count.")
    shard_index: int = _setting(_integer(0), "Shard index", 0,
        "Which shard this job syncs (0 to shard_count - 1); only shard 0 emits projects.")
    case_ids: tuple[CaseRef, ...] = _setting(th.ArrayType(_CASE), "Case IDs", None,
        'Cases to fetch one by one into the case_results stream, as [{"task_id": 1234, '
        '"case_id": 2345}].', unset=())
    # fmt: on

    def __post_init__(self) -> None:
        """Lists lose their duplicates (the first of each is kept)."""
        for name in ("task_ids", "project_ids", "labeling_state", "case_ids"):
            object.__setattr__(self, name, tuple(dict.fromkeys(getattr(self, name))))

    def in_shard(self, task_id: int) -> bool:
        """Whether this job syncs `task_id` (a task's shard never changes with the task list)."""
        return task_id % self.shard_count == self.shard_index


def draft7(schema: dict[str, t.Any]) -> dict[str, t.Any]:
    """A settings schema made valid Draft 7: `th` appends a bare `"null"` to an `anyOf` list."""

    def repair(node: object, key: str = "") -> object:
        if isinstance(node, dict):
            return {name: repair(value, name) for name, value in node.items()}
        if isinstance(node, list):
            null = {"type": "null"} if key == "anyOf" else "null"
            return [null if item == "null" else repair(item) for item in node]
        return node

    return {**t.cast("dict[str, t.Any]", repair(schema)), "$schema": DRAFT_7}


_FIELDS = dataclasses.fields(Settings)
_NAMES = tuple(field.name for field in _FIELDS)
CONFIG_SCHEMA: dict[str, t.Any] = draft7(
    th.PropertiesList(*(th.Property(field.name, **field.metadata) for field in _FIELDS)).to_dict()
)
#: Settings whose environment variables the SDK converts with int() (see `check_environment`).
INTEGER_SETTINGS = tuple(
    name for name, hint in t.get_type_hints(Settings).items() if hint in (int, int | None)
)
_STATED = ("minimum", "maximum", "enum")


def parse_settings(config: Mapping[str, t.Any]) -> Settings:
    """The raw config checked (else a `ConfigError` naming the setting), typed and normalised."""
    values = {}
    for name in _NAMES:
        value = CHECKS.get(name, stripped)(name, config.get(name))
        if value is not None:
            values[name] = value
    if "api_key" not in values:
        fix = "Generate it in the Centaur portal under Organization Settings → API Integration."
        raise ConfigError("api_key", "is required.", fix)
    try:
        settings = msgspec.convert(values, Settings, strict=False)
    except msgspec.ValidationError as error:
        problem, _, path = str(error).replace(" | null", "").partition(" - at `$.")
        path = path.rstrip("`")
        name = re.split(r"[.\[]", path)[0] or "config"
        raise ConfigError(
            name, f"{problem[0].lower()}{problem[1:]} (at {path}).", SEE_README
        ) from None
    for name, number in vars(settings).items():
        if isinstance(number, float) and not math.isfinite(number):
            raise ConfigError(name, f"must be a finite number, got {number}.", SEE_README)
    _check_schema(msgspec.json.decode(msgspec.json.encode(settings)))  # typed: bounds, enums
    _check_schema(config)  # what the SDK checks next must not fail on a tap setting
    _check_combinations(settings)
    return settings


def _check_schema(config: Mapping[str, t.Any]) -> None:
    """Refuse the first tap setting the schema refuses, in words (a secret's value unshown)."""
    own = {name: value for name, value in config.items() if name in _NAMES}
    properties = {name: CONFIG_SCHEMA["properties"][name] for name in _NAMES}
    for error in Draft7Validator({"properties": properties}).iter_errors(own):
        name = str(error.absolute_path[0])
        stated = [e for e in error.context or () if e.validator in _STATED]
        leaf = max(stated, key=lambda e: len(e.path)) if stated else error  # the item at fault
        schema, value = t.cast("dict[str, t.Any]", leaf.schema), leaf.instance
        secret = properties[name].get("secret")
        problem = "does not have the type this setting takes."
        if leaf.validator == "enum" and not secret:
            allowed = ", ".join(map(repr, schema["enum"]))
            problem = f"{excerpt(repr(value), 40)} is not allowed. Allowed values: {allowed}."
        elif leaf.validator in _STATED and not secret:
            low, high = (_shown(schema.get(key)) for key in ("minimum", "maximum"))
            bounds = f"at least {low}" if high == "None" else f"{low} to {high}"
            problem = f"must be {bounds}, got {_shown(value)}."
        raise ConfigError(name, problem, SEE_README)


def _shown(number: object) -> str:
    return f"{number:g}" if isinstance(number, float) else str(number)


def _check_combinations(settings: Settings) -> None:
    """The rules that span settings: one way to authenticate, a shard within shard_count."""
    login, password = settings.username is not None, settings.api_password is not None
    if login != password:
        missing, given = ("api_password", "username") if login else ("username", "api_password")
        raise ConfigError(missing, f"is required when {given} is set.")
    fix = "Set either username and api_password (recommended: tokens are renewed), or bearer_token."
    if login and settings.bearer_token is not None:
        raise ConfigError("bearer_token", "cannot be combined with username + api_password.", fix)
    if not login and settings.bearer_token is None:
        raise ConfigError("username/api_password", "no way to authenticate is configured.", fix)
    if settings.shard_index >= settings.shard_count:
        problem = f"is {settings.shard_index}, but shard_count is {settings.shard_count}."
        raise ConfigError("shard_index", problem, "Use 0 to shard_count - 1, one value per job.")
