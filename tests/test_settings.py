"""Settings are checked before any request, with one message naming the setting at fault."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest

from tap_centaur.errors import ConfigError
from tap_centaur.settings import CONFIG_SCHEMA, CaseRef, Settings, parse_settings

BASE = {"api_key": "k-123456", "bearer_token": "t-123456", "task_ids": [101]}


def settings(**overrides):
    config = {**BASE, **overrides}
    return parse_settings({key: value for key, value in config.items() if value is not None})


UTC = timezone.utc
NOON = datetime(2024, 1, 31, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("overrides", "name", "expected"),
    [
        ({"task_ids": [3, "1", " 2 ", 3, "1"]}, "task_ids", (3, 1, 2)),
        ({"task_ids": None}, "task_ids", ()),  # discovery is the default
        ({"project_ids": ["7000", 7001]}, "project_ids", (7000, 7001)),
        ({"api_key": " k-123456\n"}, "api_key", "k-123456"),
        ({"bearer_token": "\tt-123456\r\n"}, "bearer_token", "t-123456"),
        ({"labeling_state": "Gold Standard"}, "labeling_state", ("Gold Standard",)),
        (
            {"labeling_state": ["Labeled", "Flagged", "Labeled"]},
            "labeling_state",
            ("Labeled", "Flagged"),
        ),
        ({"labeling_state": '["Labeled", "Flagged"]'}, "labeling_state", ("Labeled", "Flagged")),
        ({}, "labeling_state", ()),
        ({"start_date": "2024-01-31"}, "start_date", datetime(2024, 1, 31, tzinfo=UTC)),
        ({"start_date": "2024-01-31T12:30:00"}, "start_date", NOON),
        ({"start_date": "2024-01-31T14:30:00+02:00"}, "start_date", NOON),
        ({}, "api_url", "https://api.centaurlabs.com"),
        ({"page_size": " 250 ", "max_retries": "3"}, "page_size", 250),
        ({"request_timeout": "2.5"}, "request_timeout", 2.5),
        ({"shard_index": "0"}, "shard_index", 0),
        ({"case_ids": [{"task_id": 1, "case_id": 2}] * 2}, "case_ids", (CaseRef(1, 2),)),
    ],
)
def test_good_config_is_typed_and_normalised(overrides, name, expected):
    value = getattr(settings(**overrides), name)
    assert (value, repr(value)) == (expected, repr(expected))  # the type and the UTC offset too


def test_login_credentials_never_show_in_repr():
    parsed = settings(bearer_token=None, username="a@b.c", api_password="pw-123456")
    assert parsed.api_password == "pw-123456"
    assert "pw-123456" not in repr(parsed)


def test_schema_is_built_from_the_declarations():
    """One declaration per setting: the schema lists the Settings fields, in their order."""
    names = [field.name for field in dataclasses.fields(Settings)]
    assert list(CONFIG_SCHEMA["properties"])[: len(names)] == names  # then the SDK's built-ins
    assert CONFIG_SCHEMA["required"] == ["api_key"]


@pytest.mark.parametrize(
    ("overrides", "setting", "hint"),
    [
        ({"api_key": None}, "api_key", "required"),
        ({"api_key": 12345678}, "api_key", "expected `str`, got `int` (at api_key)"),
        ({"task_ids": [1, "abc"]}, "task_ids", "expected `int`, got `str` (at task_ids[1])"),
        ({"task_ids": ["[1", "2"]}, "task_ids", "looks like a JSON list that does not parse"),
        ({"project_ids": ["1", "2]"]}, "project_ids", "e.g. [1234, 5678], or ids with commas"),
        ({"task_ids": [0]}, "task_ids", "must be at least 1, got 0"),
        ({"task_ids": [True]}, "task_ids", "got `bool`"),
        ({"task_ids": [1.5]}, "task_ids", "got `float`"),
        ({"project_ids": ["x7"]}, "project_ids", "expected `int`, got `str`"),
        ({"project_ids": {"a": 1}}, "project_ids", "expected `array`, got `object`"),
        ({"task_ids": 7}, "task_ids", "expected `array`, got `int`"),
        ({"labeling_state": "Done"}, "labeling_state", "'Gold Standard'"),
        ({"labeling_state": ["Labeled", "labeled"]}, "labeling_state", "'labeled' is not allowed"),
        ({"start_date": "yesterday"}, "start_date", "ISO"),
        ({"start_date": "2024-13-45"}, "start_date", "ISO"),
        ({"start_date": 20240101}, "start_date", "must be a string"),
        ({"api_url": "api.centaurlabs.com"}, "api_url", "scheme"),
        ({"api_url": "ftp://api.centaurlabs.com"}, "api_url", "http"),
        ({"api_url": ""}, "api_url", "URL"),
        ({"page_size": 0}, "page_size", "must be at least 1, got 0"),
        ({"page_size": "1OO"}, "page_size", "expected `int`, got `str`"),
        ({"request_timeout": "1e400"}, "request_timeout", "number out of range"),
        ({"request_timeout": "nan"}, "request_timeout", "must be a finite number, got nan"),
        ({"request_timeout": 0}, "request_timeout", "must be 0.1 to 3600, got 0"),
        ({"request_timeout": "fast"}, "request_timeout", "expected `float`, got `str`"),
        ({"max_retries": "-1"}, "max_retries", "must be 0 to 100, got -1"),
        ({"backoff_factor": -0.5}, "backoff_factor", "must be 0 to 60, got -0.5"),
        ({"lookback_seconds": 10**11}, "lookback_seconds", "0 to 31536000, got 100000000000"),
        ({"max_parallel_tasks": "\u00b2"}, "max_parallel_tasks", "expected `int`, got `str`"),
        ({"task_ids": "7,8"}, "task_ids", "expected `array`, got `str`"),
        ({"api_key": "k-123\n456"}, "api_key", "a control character (U+000A)"),
        ({"bearer_token": "t-123\u2018456"}, "bearer_token", "a non-ASCII character (U+2018)"),
        ({"api_url": "htps://u:12345678@h"}, "api_url", "'htps://...@h' carries credentials"),
        ({"case_ids": [{"task_id": 1}]}, "case_ids", "missing required field `case_id`"),
        ({"case_ids": [{"task_id": "x", "case_id": 2}]}, "case_ids", "case_ids[0].task_id"),
        ({"bearer_token": None}, "username/api_password", "no way to authenticate"),
        ({"username": "a@b.c", "api_password": "pw-123456"}, "bearer_token", "either"),
        ({"bearer_token": None, "username": "a@b.c"}, "api_password", "required"),
        ({"bearer_token": None, "api_password": "pw-123456"}, "username", "required"),
        ({"bearer_token": 1234567}, "bearer_token", "expected `str`, got `int`"),
        ({"api_key": ["k-123456"]}, "api_key", "expected `str`, got `array`"),
        ({"api_password": {"pw": "pw-123456"}, "username": "a@b.c"}, "api_password", "`object`"),
        ({"case_ids": [{"task_id": 1, "case_id": 0}]}, "case_ids", "at least 1, got 0"),
        ({"max_parallel_tasks": 33}, "max_parallel_tasks", "must be 1 to 32, got 33"),
    ],
)
def test_bad_config_names_the_setting(overrides, setting, hint):
    with pytest.raises(ConfigError) as caught:
        settings(**overrides)
    message = str(caught.value)
    assert caught.value.setting == setting
    assert f"'{setting}'" in message
    assert hint in message
    for secret in ("k-123456", "t-123456", "pw-123456", "12345678", "1234567"):
        assert secret not in message
