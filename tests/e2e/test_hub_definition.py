"""hub/tap-centaur.yml against the JSON schema that the installed meltano package ships.

Meltano ships the schema of meltano.yml inside its package (`meltano/schemas/
meltano.schema.json`, draft 2020-12, extractors strict: `unevaluatedProperties: false`). The
definition, as `meltano add --from-ref` puts it in a project, must be valid there once the keys
only the Meltano Hub reads are set aside; those keys are checked here against the values the
Hub's plugin definition syntax documents. Nothing is copied into this repository: the schema is
read from the meltano that `make e2e` installed.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e

#: The Hub's values (hub.meltano.com's plugin definition syntax and hub_metadata schema).
MAINTENANCE_STATUSES = ("active", "beta", "development", "inactive", "deprecated", "unknown")
QUALITIES = ("gold", "silver", "bronze", "unknown")


def _https_url(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"https://[^\s/]+\.[^\s]+", value) is not None


def _strings(value: Any, pattern: str = r".+") -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, str) and re.fullmatch(pattern, v) for v in value)
    )


#: The keys only the Hub reads (Meltano's schema rejects them), each with its check.
HUB_ONLY: dict[str, Callable[[Any], bool]] = {
    "domain_url": _https_url,
    "keywords": _strings,
    "maintenance_status": lambda v: v in MAINTENANCE_STATUSES,
    "quality": lambda v: v in QUALITIES,
    "supported_python_versions": lambda v: _strings(v, r"3\.\d+"),
}


def hub_definition() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe", pure=True).load(
        (ROOT / "hub" / "tap-centaur.yml").read_text(encoding="utf-8")
    )
    return data


@cache
def meltano_schema_path(meltano_bin: str) -> Path:
    """The schema file inside the meltano package that `meltano_bin` runs."""
    interpreter = Path(meltano_bin).read_text(encoding="utf-8").splitlines()[0].removeprefix("#!")
    found = subprocess.run(
        [
            interpreter.strip(),
            "-c",
            "import importlib.resources as r;"
            "print(r.files('meltano.schemas').joinpath('meltano.schema.json'))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return Path(found.stdout.strip())


def errors(definition: dict[str, Any], meltano_bin: str) -> list[str]:
    """What is wrong with `definition`: its Hub keys, then the rest against Meltano's schema."""
    found = [
        f"{key}: {definition[key]!r} is not allowed"
        for key, allowed in HUB_ONLY.items()
        if key in definition and not allowed(definition[key])
    ]
    plugin = {k: v for k, v in definition.items() if k not in HUB_ONLY}
    project = {"version": 1, "default_environment": "dev", "plugins": {"extractors": [plugin]}}
    schema = json.loads(meltano_schema_path(meltano_bin).read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return found + [error.message for error in validator.iter_errors(project)]


def test_the_definition_is_valid_for_the_installed_meltano(meltano_bin: str) -> None:
    definition = hub_definition()
    assert set(HUB_ONLY) <= set(definition)
    assert "meltano_sdk" in definition["keywords"]
    assert errors(definition, meltano_bin) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(pipurl="tap-centaur"), "'pipurl' was unexpected"),
        (lambda d: d.pop("name"), "'name' is a required property"),
        (lambda d: d["settings"][0].update(kind="decimals"), "'decimals' is not valid"),
        (lambda d: d["settings"][0].update(secret=True), "'secret' was unexpected"),
        (lambda d: d["capabilities"].append("parallel"), "'parallel' is not one of"),
        (lambda d: d.update(maintenance_status="alive"), "maintenance_status: 'alive'"),
        (lambda d: d.update(quality="platinum"), "quality: 'platinum'"),
        (lambda d: d.update(keywords="api"), "keywords: 'api'"),
        (lambda d: d.update(domain_url="docs.centaurlabs.com"), "domain_url: "),
        (lambda d: d["supported_python_versions"].append("3"), "supported_python_versions: "),
    ],
)
def test_a_broken_definition_is_rejected(change: Any, message: str, meltano_bin: str) -> None:
    broken = copy.deepcopy(hub_definition())
    change(broken)
    found = errors(broken, meltano_bin)
    assert any(message in error for error in found), found
