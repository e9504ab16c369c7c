"""The repository's machine-read files are valid and agree with the tap (no network needed).

- GitHub workflows, Dependabot config and meltano.yml against the JSON schemas vendored by
  check-jsonschema (the pre-commit hooks' check, offline); a broken copy of each is rejected.
  meltano.yml against the installed Meltano's own schema: tests/e2e/test_hub_definition.py;
  its extractor is generated (tests/test_plugin_definition.py).
- meltano.yml holds no secret and pins its loaders and Meltano; .env.example lists every
  TAP_CENTAUR_* variable.
- Workflows: tests on every supported Python, lint with ruff and mypy, trusted publishing on
  tags, actions pinned.
- .pre-commit-config.yaml is valid and has the promised hooks; .gitignore covers the
  generated folders; the CI and helper scripts are executable strict bash.

actionlint is not run: its PyPI wrapper downloads the binary from GitHub when installed,
which this project's machines cannot reach.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
#: Each checked file, its schema, and a key whose misspelling the schema rejects.
SCHEMAS = {
    ".github/workflows/ci.yml": ("vendor.github-workflows", "runs-on", "runs_on"),
    ".github/workflows/release.yml": ("vendor.github-workflows", "runs-on", "runs_on"),
    ".github/dependabot.yml": ("vendor.dependabot", "package-ecosystem", "package_ecosystem"),
    "meltano.yml": ("vendor.meltano", "sensitive", "secret"),
}


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


@cache
def about() -> dict[str, Any]:
    command = [sys.executable, "-m", "tap_centaur", "--about", "--format=json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def test_every_workflow_is_checked() -> None:
    assert {p.name for p in WORKFLOWS.glob("*.yml")} == {"ci.yml", "release.yml"}


@pytest.mark.parametrize("name", SCHEMAS)
def test_file_is_valid_and_a_broken_copy_is_not(name: str, tmp_path: Path) -> None:
    schema, good, bad = SCHEMAS[name]
    text = (ROOT / name).read_text(encoding="utf-8")
    broken = tmp_path / Path(name).name
    misspelt = re.sub(rf"^(\s*(- )?){good}:", rf"\g<1>{bad}:", text, count=1, flags=re.M)
    broken.write_text(misspelt, encoding="utf-8")
    assert broken.read_text(encoding="utf-8") != text
    for path, code in ((ROOT / name, 0), (broken, 1)):
        command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == code, f"{path}:\n{done.stdout}{done.stderr}"


def test_meltano_yml_has_no_secret_values() -> None:
    text = (ROOT / "meltano.yml").read_text(encoding="utf-8")
    for name in ("api_key", "api_password", "bearer_token", "password"):
        # A `$VARIABLE` is a reference to the environment, not a value.
        assert not re.search(rf"^\s*{name}:\s*[^\s$]", text, re.MULTILINE), name


def test_loaders_and_meltano_are_pinned() -> None:
    project = load_yaml(ROOT / "meltano.yml")
    loaders = {p["name"]: p for p in project["plugins"]["loaders"]}
    jsonl = loaders["target-jsonl"]
    assert (jsonl["variant"], jsonl["pip_url"]) == ("andyh1203", "target-jsonl==0.1.4")
    assert jsonl["config"]["destination_path"].startswith("output")
    postgres = loaders["target-postgres"]
    assert postgres["variant"] == "meltanolabs"
    assert re.fullmatch(r"meltanolabs-target-postgres==[\d.]+", postgres["pip_url"])
    assert next(s for s in postgres["settings"] if s["name"] == "password")["sensitive"] is True
    [dbt] = project["plugins"]["transformers"]
    assert all(re.fullmatch(r"[\w.-]+==[\d.]+", spec) for spec in dbt["pip_url"].split()), dbt
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    pinned = re.search(r"^MELTANO_VERSION := ([\d.]+)$", makefile, re.MULTILINE)
    lower = re.search(r">=([\d.]+)", project["requires_meltano"])
    assert pinned and lower and lower.group(1) == pinned.group(1)
    assert project["default_environment"] == "dev"
    assert "dev" in {e["name"] for e in project["environments"]}


def test_env_example_lists_every_tap_variable() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^#?\s*(TAP_CENTAUR_[A-Z_]+)=", text, re.MULTILINE))
    expected = {f"TAP_CENTAUR_{name.upper()}" for name in about()["settings"]["properties"]}
    assert expected <= listed, sorted(expected - listed)
    for name in ("HOST", "PORT", "USER", "PASSWORD", "DATABASE"):
        assert f"TARGET_POSTGRES_{name}=" in text


def steps_text(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) + str(step.get("uses", "")) for step in job["steps"])


def test_ci_workflow_tests_every_supported_python_and_lints() -> None:
    jobs = load_yaml(WORKFLOWS / "ci.yml")["jobs"]
    versions = jobs["tests"]["strategy"]["matrix"]["python-version"]
    assert versions == about()["supported_python_versions"]
    assert "make test" in steps_text(jobs["tests"])
    assert "make lint" in steps_text(jobs["lint"])
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    lint_target = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    for command in ("ruff check", "ruff format --check", "mypy"):
        assert command in lint_target


def test_release_workflow_publishes_tags_with_trusted_publishing() -> None:
    release = load_yaml(WORKFLOWS / "release.yml")
    assert release["on"]["push"]["tags"]
    publish = release["jobs"]["publish"]
    assert publish["permissions"]["id-token"] == "write"
    uses = [step.get("uses", "") for step in publish["steps"]]
    assert any(u.startswith("actions/download-artifact") for u in uses)
    [step] = [s for s in publish["steps"] if "pypa/gh-action-pypi-publish" in s.get("uses", "")]
    assert "password" not in step.get("with", {}), "trusted publishing needs no token"
    assert "make build" in steps_text(release["jobs"]["build"])


def test_actions_are_pinned_and_dependabot_updates_them() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        for job in load_yaml(path)["jobs"].values():
            for step in job.get("steps", []):
                if "uses" in step:
                    assert re.search(r"@(v\d[\w.]*|release/v\d+|[0-9a-f]{40})$", step["uses"])
    config = load_yaml(ROOT / ".github" / "dependabot.yml")
    assert {u["package-ecosystem"] for u in config["updates"]} >= {"pip", "github-actions"}


def test_pre_commit_config_is_valid_and_has_the_promised_hooks() -> None:
    path = ROOT / ".pre-commit-config.yaml"
    hooks = {hook["id"] for repo in load_yaml(path)["repos"] for hook in repo["hooks"]}
    assert hooks >= {"ruff-check", "ruff-format", "mypy", "check-github-workflows"}
    assert hooks >= {"check-dependabot", "check-meltano"}
    pre_commit = Path(sys.executable).parent / "pre-commit"
    done = subprocess.run(
        [str(pre_commit), "validate-config", str(path)], capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_generated_files_are_git_ignored_and_env_example_is_not() -> None:
    ignored = [".venv/x", ".meltano/x", ".meltano-venv/x", "output/x.jsonl", "dist/x.whl", ".env"]
    ignored += ["tap_centaur/__pycache__/x.pyc", "x.egg-info/PKG-INFO", ".pytest_cache/x"]
    ignored += [".mypy_cache/x", ".ruff_cache/x"]
    command = ["git", "check-ignore", "--no-index", *ignored, ".env.example"]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.splitlines() == ignored, done.stdout + done.stderr


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
    syntax = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)
    assert syntax.returncode == 0, syntax.stderr
