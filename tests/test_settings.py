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
        ({"task_ids": [1, "abc"]}, "task_ids", "expected `int`, got `str` (at task_ids[1])"),
        ({"task_ids": [True]}, "task_ids", "got `bool`"),
        ({"task_ids": 7}, "task_ids", "expected `array`, got `int`"),
        ({"labeling_state": "Done"}, "labeling_state", "'Gold Standard'"),
        ({"start_date": 20240101}, "start_date", "must be a string"),
        ({"api_url": ""}, "api_url", "URL"),
        ({"request_timeout": "1e400"}, "request_timeout", "number out of range"),
        ({"request_timeout": "nan"}, "request_timeout", "must be a finite number, got nan"),
        ({"case_ids": [{"task_id": "x", "case_id": 2}]}, "case_ids", "case_ids[0].task_id"),
        ({"case_ids": [{"task_id": 1, "case_id": 0}]}, "case_ids", "at least 1, got 0"),
    ],
)
def test_bad_config_names_the_setting(overrides, setting, hint):
    """What tests/reliability/test_bad_config.py (the tap run on each) neither tries nor checks."""
    with pytest.raises(ConfigError) as caught:
        settings(**overrides)
    message = str(caught.value)
    assert caught.value.setting == setting
    assert f"'{setting}'" in message
    assert hint in message
    for secret in ("k-123456", "t-123456"):
        assert secret not in message
