"""hub/tap-centaur.yml: generated from the tap's settings schema, valid for the Hub and Meltano.

- `scripts/plugin_definition.py --check` passes (hub/tap-centaur.yml and meltano.yml's extractor
  are what the schema gives) and fails, naming the file, on a drifted copy.
- The definition declares the tap's settings, capabilities and the Hub's metadata.
- The JSON-schema -> Meltano-kind mapping, on today's schema forms and on Draft 7 ones.

The file against the JSON schema shipped inside the installed meltano package is checked by
tests/e2e/test_hub_definition.py (`make e2e`: Meltano is installed there).
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.test_docs import README, ROOT, about, load_yaml, run

HUB_FILE = ROOT / "hub" / "tap-centaur.yml"
SCRIPT = ROOT / "scripts" / "plugin_definition.py"
SECRETS = {"api_key", "api_password", "bearer_token"}
SDK_CAPABILITIES = {"catalog", "discover", "state", "about", "stream-maps", "schema-flattening"}
SDK_CAPABILITIES |= {"batch", "structured-logging"}


@cache
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("plugin_definition", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_main(*args: str) -> subprocess.CompletedProcess[str]:
    """The script's `main(ARGS)` in this process (no interpreter start-up), its output captured."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = generator().main(list(args))
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


# --- one source ---------------------------------------------------------------------------


def test_files_are_up_to_date_and_check_names_the_file_that_drifted(tmp_path: Path) -> None:
    result = run(sys.executable, str(SCRIPT), "--check", check=False)  # as a developer does
    assert result.returncode == 0, result.stdout + result.stderr
    hub, project = tmp_path / "tap-centaur.yml", tmp_path / "meltano.yml"
    shutil.copy(HUB_FILE, hub)
    shutil.copy(ROOT / "meltano.yml", project)
    paths = ("--hub-file", str(hub), "--meltano-yml", str(project))
    assert run_main("--check", *paths).returncode == 0

    text = project.read_text(encoding="utf-8")
    assert text.count("kind: integer") > 1
    project.write_text(text.replace("kind: integer", "kind: string", 1), encoding="utf-8")
    result = run_main("--check", *paths)
    assert result.returncode == 1
    assert str(project) in result.stderr
    assert str(hub) not in result.stderr

    hub.write_text(re.sub(r"^ *sensitive: true\n", "", hub.read_text(), count=1, flags=re.M))
    result = run_main("--check", *paths)
    assert result.returncode == 1
    assert str(hub) in result.stderr

    rewrite = run_main(*paths)
    assert rewrite.returncode == 0, rewrite.stderr
    assert run_main("--check", *paths).returncode == 0
    assert project.read_text(encoding="utf-8") == (ROOT / "meltano.yml").read_text()
    assert hub.read_text(encoding="utf-8") == HUB_FILE.read_text(encoding="utf-8")


def test_rewriting_meltano_yml_keeps_the_rest_of_the_project() -> None:
    original = (ROOT / "meltano.yml").read_text(encoding="utf-8")
    rewritten = generator().meltano_yml_text(original)
    assert rewritten == original  # idempotent, comments included
    # A project whose extractor lost a setting, has a wrong kind and a stale key gets the
    # generated definition back; its comments, environments, inherited extractor and loaders
    # stay as they were.
    yaml = generator().yaml()
    project = yaml.load(original)
    plugin = project["plugins"]["extractors"][0]
    del plugin["settings"][3]
    plugin["settings"][-1]["kind"] = "string"
    plugin["hidden"] = True
    plugin["config"] = {"page_size": 10}
    edited = io.StringIO()
    yaml.dump(project, edited)
    stripped = generator().meltano_yml_text(edited.getvalue())
    for comment in re.findall(r"^[ \t]*#.*$", original, re.MULTILINE):
        assert comment in stripped
    again = YAML(typ="safe", pure=True).load(stripped)
    before = YAML(typ="safe", pure=True).load(original)
    assert again["environments"] == before["environments"]
    assert again["plugins"]["loaders"] == before["plugins"]["loaders"]
    assert again["plugins"]["extractors"][1] == before["plugins"]["extractors"][1]
    regenerated = again["plugins"]["extractors"][0]
    assert regenerated.pop("config") == {"page_size": 10}  # a project key: kept
    assert regenerated == before["plugins"]["extractors"][0]  # `hidden` is gone


# --- the definition -----------------------------------------------------------------------


def test_definition_declares_every_setting_of_the_tap() -> None:
    properties = about()["settings"]["properties"]
    settings = {s["name"]: s for s in load_yaml(HUB_FILE)["settings"]}
    assert list(settings) == list(properties)
    for name, spec in properties.items():
        assert settings[name]["label"] == spec.get("title"), name
        assert settings[name]["description"] == " ".join(spec["description"].split()), name
        assert settings[name].get("value") == spec.get("default"), name
    assert {n for n, s in settings.items() if s.get("sensitive")} == SECRETS
    states = [o["value"] for o in settings["labeling_state"]["options"]]
    assert states == ["Ready", "Active", "Labeled", "Gold Standard", "Canceled", "Flagged"]


def test_definition_metadata() -> None:
    hub = load_yaml(HUB_FILE)
    names = [hub[key] for key in ("name", "namespace", "executable")]
    assert names == ["tap-centaur", "tap_centaur", "tap-centaur"]
    assert hub["pip_url"] == "tap-centaur"  # the package name, once it is on PyPI
    # The keys only the Hub reads, with values its plugin definition syntax allows.
    assert hub["maintenance_status"] in ("active", "beta", "development", "inactive")
    assert hub["quality"] in ("gold", "silver", "bronze", "unknown")
    assert "meltano_sdk" in hub["keywords"] and all(isinstance(k, str) for k in hub["keywords"])
    assert hub["capabilities"] == about()["capabilities"]
    assert set(hub["capabilities"]) >= SDK_CAPABILITIES
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    classifiers = re.findall(r'"Programming Language :: Python :: (3\.\d+)"', pyproject)
    assert (
        hub["supported_python_versions"] == classifiers == ["3.10", "3.11", "3.12", "3.13", "3.14"]
    )
    for key in ("docs", "repo", "domain_url"):
        assert re.fullmatch(r"https://[^\s/]+\.\S+", hub[key]), key
    groups = [set(g) for g in hub["settings_group_validation"]]
    assert groups == [{"api_key", "username", "api_password"}, {"api_key", "bearer_token"}]


# --- JSON schema -> Meltano kind ----------------------------------------------------------

STATES = ["Ready", "Labeled"]
#: A state or a list of states (labeling_state).
STATE = {"type": "string", "enum": STATES}
STATE_OR_LIST = [STATE, {"type": "array", "items": STATE}]
JSON_LIST_TEXT = {"type": "string", "pattern": "^\\s*\\["}
STATE_OR_FLAGGED = {"type": "string", "enum": [*STATES, "Flagged"]}
NULL = {"type": "null"}
DATE_OR_TIME = [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        # Forms in today's schema (some not valid JSON Schema).
        ({"type": ["string"]}, "string"),
        ({"type": ["string", "null"]}, "string"),
        ({"type": ["integer", "string", "null"]}, "integer"),
        ({"type": ["number", "string", "null"]}, "string"),
        ({"type": ["array", "null"], "items": {"type": ["integer", "string"]}}, "array"),
        ({"type": ["object", "null"], "properties": {}}, "object"),
        ({"type": ["boolean", "null"]}, "boolean"),
        ({"anyOf": [*STATE_OR_LIST, "null"]}, "string"),
        # Draft 7 forms.
        ({"type": "integer", "minimum": 1, "maximum": 32}, "integer"),
        ({"type": ["integer", "null"], "minimum": 0}, "integer"),
        (
            {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": "^\\d+$"}]},
            "integer",
        ),
        ({"type": "number", "exclusiveMinimum": 0}, "string"),
        ({"type": ["string", "null"], "format": "date-time"}, "date_iso8601"),
        ({"anyOf": DATE_OR_TIME}, "date_iso8601"),
        ({"type": "string", "format": "email"}, "email"),
        ({"type": "string", "format": "uri"}, "string"),
        ({"type": ["boolean", "string"]}, "boolean"),
        ({"anyOf": [*STATE_OR_LIST, JSON_LIST_TEXT, NULL]}, "string"),
        ({"anyOf": [{"type": "array"}, {"type": "string"}]}, "string"),
        (STATE, "options"),
        ({"type": ["string", "null"], "enum": [*STATES, None]}, "options"),
        ({"anyOf": [STATE, NULL]}, "options"),
        # The entry: options from the enum of the value or of its items, every keyword.
        (
            {"anyOf": [STATE, {"type": "array", "items": STATE_OR_FLAGGED}, NULL]},
            {"kind": "string", "options": [{"label": s, "value": s} for s in [*STATES, "Flagged"]]},
        ),
        (
            {"type": "integer", "default": 1, "title": "N", "description": "How\n  many."},
            {"label": "N", "kind": "integer", "description": "How many.", "value": 1},
        ),
        ({"type": "string", "writeOnly": True}, {"kind": "string", "sensitive": True}),
    ],
)
def test_setting_entry_of_a_schema_property(
    spec: dict[str, Any], expected: str | dict[str, Any]
) -> None:
    """Its Meltano kind (from today's schema forms and Draft 7 ones), or the whole entry."""
    entry = generator().setting("a_setting", {"description": "d", **spec})
    if isinstance(expected, str):
        assert entry["kind"] == expected
    else:
        assert entry == {"name": "a_setting", "label": "A setting", "description": "d", **expected}


def test_a_value_of_no_known_kind_is_an_error_naming_the_setting() -> None:
    module = generator()
    with pytest.raises(module.UnmappedSettingError, match=r"'shard_index'.*KIND_OF_UNION"):
        module.setting_kind("shard_index", {"type": ["integer", "boolean"]})
    with pytest.raises(module.UnmappedSettingError, match=r"'lookback_seconds'.*description"):
        module.setting("lookback_seconds", {"type": "integer"})


def test_the_generator_follows_a_changed_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    from tap_centaur.tap import TapCentaur

    schema = copy.deepcopy(TapCentaur.config_jsonschema)
    # As in a process where a tap was already validated: the SDK appended its settings.
    TapCentaur.append_builtin_config(schema)
    new = {"type": ["string", "null"], "format": "date-time", "title": "N", "description": "N."}
    schema["properties"]["new_date"] = new
    monkeypatch.setattr(TapCentaur, "config_jsonschema", schema)
    settings = {s["name"]: s for s in generator().definition()["settings"]}
    assert settings["new_date"] == generator().setting("new_date", new)
    names = list(settings)
    assert names.index("new_date") < names.index("stream_maps")  # the tap's settings first
    assert names[-1] == "batch_config"


# --- the README's use of the file ---------------------------------------------------------


def test_readmes_sed_commands_change_only_pip_url() -> None:
    section = README.split("### In your Meltano project", 1)[1].split("\n### ", 1)[0]
    expressions = re.findall(r"""sed (["'])(s\|\^pip_url: \.\*\|pip_url: [^|]+\|)\1""", section)
    targets = {expression.rsplit("pip_url: ", 1)[1].rstrip("|") for _, expression in expressions}
    assert targets == {"$CLONE", "git+https://github.com/tap-centaur/tap-centaur"}, targets
    for _, written in expressions:
        expression = written.replace("$CLONE", "/src/tap-centaur")
        edited = run("sed", expression, str(HUB_FILE))
        target = expression.rsplit("pip_url: ", 1)[1].rstrip("|")
        assert YAML(typ="safe").load(edited.stdout) == load_yaml(HUB_FILE) | {"pip_url": target}
