"""Checks of raw settings that need words of their own, and of the environment the SDK reads.

`CHECKS` maps a setting to `(name, value) -> value` (None: not set), or raises a `ConfigError`.
"""

from __future__ import annotations

import json
import logging
import re
import typing as t
from datetime import datetime, timezone
from functools import partial
from ipaddress import ip_address
from urllib.parse import urlsplit

from tap_centaur.clock import format_bookmark, parse_start_date
from tap_centaur.errors import ConfigError
from tap_centaur.redaction import excerpt

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping


def stripped(name: str, value: object) -> object:
    """Text (also in a list) without surrounding whitespace, which msgspec would refuse."""
    if isinstance(value, list):
        return [item.strip() if isinstance(item, str) else item for item in value]
    return value.strip() if isinstance(value, str) else value


def _credential(name: str, value: object, *, in_header: bool = True) -> object:
    """A credential without surrounding whitespace (in a header: printable ASCII); never echoed."""
    if not isinstance(value, str):
        return value  # msgspec names the type it expects
    for char in value.strip():
        if not (" " <= char <= "~" if in_header else char.isprintable()):
            kind = "a control" if not char.isprintable() else "a non-ASCII"
            raise ConfigError(
                name,
                f"holds {kind} character (U+{ord(char):04X}), which an HTTP request cannot "
                "carry; its value is not shown.",
                "Copy it again from where it was issued, as plain text.",
            )
    return value.strip() or None


def _ids(name: str, value: object) -> object:
    """Ids as given; a list variable missing a bracket (the SDK splits '[1,2' into '[1', '2')."""
    for item in value if isinstance(value, list) else ():
        if isinstance(item, str) and ("[" in item or "]" in item):
            raise ConfigError(
                name,
                f"{item!r} is not an id: the value looks like a JSON list that does not parse.",
                "Write a complete JSON list, e.g. [1234, 5678], or ids with commas: 1234,5678.",
            )
    return stripped(name, value)


def _labeling_state(name: str, value: object) -> object:
    """One state, a list of states, or a JSON list as text (an environment variable)."""
    if not isinstance(value, str):
        return value
    if not value.strip().startswith("["):
        return [value] if value else None
    try:
        return json.loads(value)
    except ValueError:
        raise ConfigError(name, "is not a valid JSON list.") from None


def _start_date(name: str, value: object) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ConfigError(name, f"must be a string, got {type(value).__name__}.")
    try:
        start = parse_start_date(value)
    except ValueError:
        raise ConfigError(
            name,
            f"{value!r} is not an ISO date or date-time.",
            "Use e.g. 2024-01-31 or 2024-01-31T12:00:00Z.",
        ) from None
    now = datetime.now(timezone.utc)
    if start > now:  # a typo: the first sync would bookmark now and never read the past
        raise ConfigError(
            name,
            f"{value!r} ({format_bookmark(start)}) is later than now ({format_bookmark(now)} "
            "by this machine's clock): the first sync would read nothing and bookmark the "
            "present, so the cases before it would never be read.",
            "Use a date in the past, or leave start_date unset to read every case.",
        )
    return start


def _api_url(name: str, value: object) -> object:
    if not isinstance(value, str):
        return value  # msgspec names the type it expects
    url = value.strip().rstrip("/")
    head, at, host = url.rpartition("@")
    if at:  # whatever else is wrong: a password before the @ is never shown
        scheme = head.partition("://")[0] + "://" if "://" in head else ""
        raise ConfigError(
            name,
            f"'{excerpt(scheme)}...@{excerpt(host, 80)}' carries credentials (user:password@).",
            "Remove them: the tap authenticates with api_key and username/api_password.",
        )
    fix = "Give the API's base URL with its scheme, e.g. https://api.centaurlabs.com."
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:  # a bracket left open, a port that is no number or out of range
        raise ConfigError(name, f"'{excerpt(value, 80)}' is not a valid URL.", fix) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(name, f"'{excerpt(value, 80)}' is not an http(s) URL.", fix)
    if parts.query or parts.fragment:
        raise ConfigError(name, "must not carry a query or fragment.")
    try:
        loopback = parts.hostname.lower() == "localhost" or ip_address(parts.hostname).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme == "http" and not loopback:
        fix = "Use https:// (plain http only for a local simulator on a loopback address)."
        raise ConfigError(
            name, f"http://{parts.hostname} would send credentials in clear text.", fix
        )
    return url


#: The settings whose raw value needs a check or a normal form (the others are `stripped`).
CHECKS: dict[str, Callable[[str, object], object]] = {
    "api_key": _credential,
    "username": partial(_credential, in_header=False),
    "api_password": _credential,
    "bearer_token": _credential,
    "task_ids": _ids,
    "project_ids": _ids,
    "labeling_state": _labeling_state,
    "start_date": _start_date,
    "api_url": _api_url,
}


def check_environment(environ: Mapping[str, str], prefix: str, names: Iterable[str]) -> None:
    """Refuse an integer setting's variable (`<PREFIX><NAME>`) that the SDK's int() fails on."""
    for name in names:
        value = environ.get(prefix + name.upper())
        if value is not None and not re.fullmatch(r"\s*[-+]?[0-9]+\s*", value):
            raise ConfigError(
                name, f"{prefix}{name.upper()}='{excerpt(value, 40)}' is not an integer."
            )


def check_log_level(environ: Mapping[str, str], prefix: str) -> None:
    """Refuse a log level the SDK would fail on (`<PREFIX>LOGLEVEL`, else `LOGLEVEL`)."""
    name = f"{prefix}LOGLEVEL" if environ.get(f"{prefix}LOGLEVEL") else "LOGLEVEL"
    level = environ.get(name)
    if level and not isinstance(logging.getLevelName(level.upper()), int):
        fix = "Use DEBUG, INFO, WARNING or ERROR."
        raise ConfigError(name, f"'{excerpt(level, 40)}' is not a log level.", fix)
