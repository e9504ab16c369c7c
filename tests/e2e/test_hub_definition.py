"""hub/tap-centaur.yml (without the keys only the Hub reads, checked by
tests/test_plugin_definition.py) and meltano.yml against the schema of meltano.yml the installed
Meltano ships (draft 2020-12; extractors strict: `unevaluatedProperties: false`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.test_docs import ROOT, load_yaml

pytestmark = pytest.mark.e2e

HUB_ONLY = ("domain_url", "keywords", "maintenance_status", "quality", "supported_python_versions")


@pytest.fixture(scope="module")
def validator(meltano_bin: str) -> Draft202012Validator:
    """Meltano's schema of meltano.yml, from the package that `meltano_bin` runs."""
    venv = Path(meltano_bin).resolve().parent.parent
    [path] = venv.glob("lib/python3*/site-packages/meltano/schemas/meltano.schema.json")
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: None, None),
        (lambda d: d.update(pipurl="tap-centaur"), "'pipurl' was unexpected"),
        (lambda d: d.pop("name"), "'name' is a required property"),
        (lambda d: d["settings"][0].update(kind="decimals"), "'decimals' is not valid"),
        (lambda d: d["settings"][0].update(secret=True), "'secret' was unexpected"),
        (lambda d: d["capabilities"].append("parallel"), "'parallel' is not one of"),
    ],
)
def test_the_definition_and_meltano_yml_are_valid_and_a_broken_definition_is_not(
    change: Any, message: str | None, validator: Draft202012Validator
) -> None:
    assert [e.message for e in validator.iter_errors(load_yaml(ROOT / "meltano.yml"))] == []
    definition = load_yaml(ROOT / "hub" / "tap-centaur.yml")
    assert set(HUB_ONLY) <= set(definition)
    change(definition)
    plugin = {k: v for k, v in definition.items() if k not in HUB_ONLY}  # as a project holds it
    project = {"version": 1, "default_environment": "dev", "plugins": {"extractors": [plugin]}}
    found = [error.message for error in validator.iter_errors(project)]
    assert any(message in error for error in found) if message else found == [], found
