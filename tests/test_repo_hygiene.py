"""The repository's machine-read files are valid and agree with the tap (no network needed).

- GitHub workflows and Dependabot config against the JSON schemas vendored by
  check-jsonschema (the same check as the pre-commit hooks, offline), meltano.yml against
  Meltano's schema (vendored by check-jsonschema, and the installed Meltano's own when
  `make demo`/`make e2e` installed it); a broken copy of each is rejected, so the check can fail.
- meltano.yml declares every setting of `tap-centaur --about` with label, description, a kind
  matching its type, `sensitive` exactly on secrets, the tap's capabilities and both ways to
  authenticate; .env.example lists every TAP_CENTAUR_* variable.
- Workflows: tests on Python 3.10-3.14, lint with ruff and mypy, trusted publishing on tags.
- .pre-commit-config.yaml is valid and has the promised hooks; .gitignore covers the
  generated folders; the CI and helper scripts are executable.

actionlint is not run: its PyPI wrapper downloads the binary from GitHub when installed,
which this project's machines cannot reach.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
SECRETS = {"api_key", "api_password", "bearer_token"}
SDK_CAPABILITY_NAMES = {
    "catalog",
    "discover",
    "state",
    "about",
    "stream-maps",
    "schema-flattening",
    "batch",
    "structured-logging",
}
KIND_FOR_TYPE = {
    "string": {"string", "email", "date_iso8601", "options", "file"},
    "integer": {"integer"},
    # Not `decimal`: Meltano 4.4.1 cannot pass a decimal setting from an environment variable
    # (see KIND_OF_TYPE in scripts/plugin_definition.py).
    "number": {"string"},
    "boolean": {"boolean"},
    "array": {"array"},
    "object": {"object"},
}


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def check_jsonschema(schema_args: list[str], instance: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", *schema_args, str(instance)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_valid(schema_args: list[str], instance: Path) -> None:
    result = check_jsonschema(schema_args, instance)
    assert result.returncode == 0, f"{instance.name}:\n{result.stdout}{result.stderr}"


def assert_invalid(schema_args: list[str], instance: Path) -> None:
    result = check_jsonschema(schema_args, instance)
    assert result.returncode == 1, f"{instance.name} should be rejected:\n{result.stdout}"


@cache
def about() -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "tap_centaur", "--about", "--format=json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=ROOT,
    )
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def meltano_project() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(ROOT / "meltano.yml")
    return data


def extractor(name: str = "tap-centaur") -> dict[str, Any]:
    plugins = meltano_project()["plugins"]["extractors"]
    found: dict[str, Any] = next(p for p in plugins if p["name"] == name)
    return found


def loader(name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        p for p in meltano_project()["plugins"]["loaders"] if p["name"] == name
    )
    return found


def json_types(spec: dict[str, Any]) -> set[str]:
    """The non-null JSON types a setting accepts (through anyOf too)."""
    found: set[str] = set()
    declared = spec.get("type")
    if isinstance(declared, str):
        found.add(declared)
    elif isinstance(declared, list):
        found.update(declared)
    for option in spec.get("anyOf", []):
        if isinstance(option, dict):
            found |= json_types(option)
        elif isinstance(option, str):
            found.add(option)
    return found - {"null"}


# --- schema validation --------------------------------------------------------------------


def test_there_are_workflows() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "release.yml"}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_is_valid(workflow: Path) -> None:
    assert_valid(["--builtin-schema", "vendor.github-workflows"], workflow)


def test_dependabot_config_is_valid() -> None:
    assert_valid(["--builtin-schema", "vendor.dependabot"], ROOT / ".github" / "dependabot.yml")


def test_meltano_yml_is_valid_for_the_vendored_schema() -> None:
    assert_valid(["--builtin-schema", "vendor.meltano"], ROOT / "meltano.yml")


def test_meltano_yml_is_valid_for_the_installed_meltanos_schema() -> None:
    schemas = sorted(
        (ROOT / ".meltano-venv").glob("lib/python3*/site-packages/meltano/schemas/*.json")
    )
    if not schemas:
        pytest.skip("Meltano is not installed in .meltano-venv (make demo or make e2e does it)")
    assert_valid(["--schemafile", str(schemas[0])], ROOT / "meltano.yml")


def test_the_schema_checks_reject_broken_files(tmp_path: Path) -> None:
    workflow = tmp_path / "broken-workflow.yml"
    workflow.write_text(
        (ROOT / ".github" / "workflows" / "ci.yml")
        .read_text(encoding="utf-8")
        .replace("runs-on:", "runs_on:", 1),
        encoding="utf-8",
    )
    assert_invalid(["--builtin-schema", "vendor.github-workflows"], workflow)
    dependabot = tmp_path / "dependabot.yml"
    dependabot.write_text("version: 2\nupdates:\n  - package-ecosystem: pip\n", encoding="utf-8")
    assert_invalid(["--builtin-schema", "vendor.dependabot"], dependabot)
    original = (ROOT / "meltano.yml").read_text(encoding="utf-8")
    for good, bad in (
        ("default_environment:", "default_enviroment:"),  # a project key
        ("executable:", "exectuable:"),  # a plugin key
        ("sensitive:", "secret:"),  # a setting key
    ):
        assert re.search(rf"^\s*{good}", original, re.MULTILINE), good
        project = tmp_path / f"meltano-{bad.rstrip(':')}.yml"
        project.write_text(
            re.sub(rf"^(\s*){good}", rf"\g<1>{bad}", original, count=1, flags=re.MULTILINE),
            encoding="utf-8",
        )
        assert_invalid(["--builtin-schema", "vendor.meltano"], project)


# --- meltano.yml agrees with the tap ------------------------------------------------------


def test_meltano_yml_declares_every_setting_of_the_tap() -> None:
    properties = about()["settings"]["properties"]
    declared = {s["name"]: s for s in extractor()["settings"]}
    assert set(declared) == set(properties)
    for name, spec in properties.items():
        setting = declared[name]
        assert setting.get("label"), name
        assert setting.get("description"), name
        kinds = set().union(*(KIND_FOR_TYPE[t] for t in json_types(spec)))
        assert setting.get("kind") in kinds, (name, setting.get("kind"), kinds)
        assert bool(setting.get("sensitive")) == bool(spec.get("secret")), name
    assert {n for n, s in declared.items() if s.get("sensitive")} == SECRETS


def test_meltano_yml_defaults_match_the_tap() -> None:
    properties = about()["settings"]["properties"]
    for setting in extractor()["settings"]:
        if "value" in setting:
            assert setting["value"] == properties[setting["name"]].get("default"), setting


def test_meltano_yml_plugin_definition() -> None:
    tap = extractor()
    assert tap["namespace"] == "tap_centaur"
    assert tap["variant"] == "tap-centaur"
    assert tap["executable"] == "tap-centaur"
    assert tap["pip_url"] == "-e ."
    assert set(tap["capabilities"]) >= SDK_CAPABILITY_NAMES
    assert set(tap["capabilities"]) <= set(about()["capabilities"])
    groups = [set(group) for group in tap["settings_group_validation"]]
    required = set(about()["settings"].get("required", []))
    assert {"api_key", "username", "api_password"} | required in groups
    assert {"api_key", "bearer_token"} | required in groups
    inherited = extractor("tap-centaur--no-read-stats")
    assert inherited["inherit_from"] == "tap-centaur"
    assert inherited["config"]["stream_maps"] == {"task_results": {"read_stats": "__NULL__"}}


def test_meltano_yml_has_no_secret_values() -> None:
    text = (ROOT / "meltano.yml").read_text(encoding="utf-8")
    for name in (*SECRETS, "password"):
        # A `$VARIABLE` is a reference to the environment, not a value.
        assert not re.search(rf"^\s*{name}:\s*[^\s$]", text, re.MULTILINE), name


def test_loaders_and_meltano_are_pinned() -> None:
    jsonl = loader("target-jsonl")
    assert (jsonl["variant"], jsonl["pip_url"]) == ("andyh1203", "target-jsonl==0.1.4")
    assert jsonl["config"]["destination_path"].startswith("output")
    postgres = loader("target-postgres")
    assert postgres["variant"] == "meltanolabs"
    assert re.fullmatch(r"meltanolabs-target-postgres==[\d.]+", postgres["pip_url"])
    password = next(s for s in postgres["settings"] if s["name"] == "password")
    assert password["sensitive"] is True
    [dbt] = meltano_project()["plugins"]["transformers"]
    assert all(re.fullmatch(r"[\w.-]+==[\d.]+", spec) for spec in dbt["pip_url"].split()), dbt
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    pinned = re.search(r"^MELTANO_VERSION := ([\d.]+)$", makefile, re.MULTILINE)
    assert pinned, "the Makefile pins Meltano"
    project = meltano_project()
    assert project["default_environment"] == "dev"
    assert "dev" in {e["name"] for e in project["environments"]}
    lower = re.search(r">=([\d.]+)", project["requires_meltano"])
    assert lower
    assert lower.group(1) == pinned.group(1)


def test_env_example_lists_every_tap_variable() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^#?\s*(TAP_CENTAUR_[A-Z_]+)=", text, re.MULTILINE))
    expected = {f"TAP_CENTAUR_{name.upper()}" for name in about()["settings"]["properties"]}
    assert expected <= listed, sorted(expected - listed)
    for name in ("HOST", "PORT", "USER", "PASSWORD", "DATABASE"):
        assert f"TARGET_POSTGRES_{name}=" in text


# --- workflows ----------------------------------------------------------------------------


def workflow(name: str) -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(ROOT / ".github" / "workflows" / name)
    return data


def steps_text(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) + str(step.get("uses", "")) for step in job["steps"])


def test_ci_workflow_tests_every_supported_python_and_lints() -> None:
    jobs = workflow("ci.yml")["jobs"]
    versions = jobs["tests"]["strategy"]["matrix"]["python-version"]
    assert versions == ["3.10", "3.11", "3.12", "3.13", "3.14"]
    assert versions == about()["supported_python_versions"]
    assert "make test" in steps_text(jobs["tests"])
    assert "make lint" in steps_text(jobs["lint"])
    lint_target = (ROOT / "Makefile").read_text(encoding="utf-8").split("\nlint:", 1)[1]
    lint_target = lint_target.split("\n\n", 1)[0]
    assert "ruff check" in lint_target
    assert "ruff format --check" in lint_target
    assert "mypy" in lint_target


def test_release_workflow_publishes_tags_with_trusted_publishing() -> None:
    release = workflow("release.yml")
    assert release["on"]["push"]["tags"]
    publish = release["jobs"]["publish"]
    assert publish["permissions"]["id-token"] == "write"
    uses = [step.get("uses", "") for step in publish["steps"]]
    publish_step = next(
        s for s in publish["steps"] if "pypa/gh-action-pypi-publish" in s.get("uses", "")
    )
    assert "password" not in publish_step.get("with", {}), "trusted publishing needs no token"
    assert any(u.startswith("actions/download-artifact") for u in uses)
    assert "make build" in steps_text(release["jobs"]["build"])


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_to_a_version(path: Path) -> None:
    for job in load_yaml(path)["jobs"].values():
        for step in job.get("steps", []):
            if "uses" in step:
                assert re.search(r"@(v\d[\w.]*|release/v\d+|[0-9a-f]{40})$", step["uses"]), step


def test_dependabot_updates_pip_and_actions() -> None:
    config = load_yaml(ROOT / ".github" / "dependabot.yml")
    assert {u["package-ecosystem"] for u in config["updates"]} >= {"pip", "github-actions"}


# --- pre-commit, .gitignore, scripts ------------------------------------------------------


def test_pre_commit_config_has_the_promised_hooks() -> None:
    config = load_yaml(ROOT / ".pre-commit-config.yaml")
    hooks = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    expected = {"ruff-check", "ruff-format", "mypy", "check-github-workflows"}
    assert hooks >= expected | {"check-dependabot", "check-meltano"}


def test_pre_commit_config_is_valid() -> None:
    pre_commit = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    if pre_commit is None:
        pytest.skip("pre-commit is not installed in this environment")
    result = subprocess.run(
        [pre_commit, "validate-config", str(ROOT / ".pre-commit-config.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "path",
    [".venv/x", ".meltano/x", ".meltano-venv/x", "output/x.jsonl", "dist/x.whl", ".env",
     "tap_centaur/__pycache__/x.pyc", "x.egg-info/PKG-INFO", ".pytest_cache/x", ".mypy_cache/x",
     ".ruff_cache/x"],
)  # fmt: skip
def test_generated_files_are_git_ignored(path: str) -> None:
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", path], cwd=ROOT, check=False, timeout=60
    )
    assert result.returncode == 0, f"{path} is not ignored by .gitignore"


def test_env_example_is_not_ignored_but_env_is() -> None:
    text = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in text
    assert ".env.example" not in text


@pytest.mark.parametrize(
    "script",
    [".ci/run", "scripts/start_postgres.sh", "scripts/stop_postgres.sh", "scripts/e2e.sh",
     "scripts/build.sh"],
)  # fmt: skip
def test_scripts_are_executable_bash_with_strict_mode(script: str) -> None:
    path = ROOT / script
    assert os.access(path, os.X_OK), f"{script} is not executable"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n")
    if script != "scripts/stop_postgres.sh":  # best effort on purpose: it runs in traps
        assert "set -euo pipefail" in text
    bash = shutil.which("bash")
    if bash:
        syntax = subprocess.run(
            [bash, "-n", str(path)], capture_output=True, text=True, check=False
        )
        assert syntax.returncode == 0, syntax.stderr
