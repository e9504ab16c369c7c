"""The repository's machine-read files are valid and agree with the tap (no network needed);
schemas: check-jsonschema's vendored ones, as the pre-commit hooks check (Meltano's own:
tests/e2e/test_hub_definition.py). actionlint is not run: its PyPI wrapper downloads the binary
from GitHub, which this project's machines cannot reach."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.test_docs import ROOT, about, load_yaml, run

WORKFLOWS = ROOT / ".github" / "workflows"
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
#: Each checked file, its schema, and a key whose misspelling the schema rejects.
SCHEMAS = {
    ".github/workflows/ci.yml": ("vendor.github-workflows", "runs-on", "runs_on"),
    ".github/workflows/release.yml": ("vendor.github-workflows", "runs-on", "runs_on"),
    ".github/dependabot.yml": ("vendor.dependabot", "package-ecosystem", "package_ecosystem"),
    "meltano.yml": ("vendor.meltano", "sensitive", "secret"),
}


@pytest.mark.parametrize("name", SCHEMAS)
def test_file_is_valid_and_a_broken_copy_is_not(name: str, tmp_path: Path) -> None:
    schema, good, bad = SCHEMAS[name]
    text = (ROOT / name).read_text(encoding="utf-8")
    broken = tmp_path / Path(name).name
    misspelt = re.sub(rf"^(\s*(- )?){good}:", rf"\g<1>{bad}:", text, count=1, flags=re.M)
    broken.write_text(misspelt, encoding="utf-8")
    command = (sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema)
    for path, code in ((ROOT / name, 0), (broken, 1)):
        done = run(*command, str(path), check=False)
        assert done.returncode == code, f"{path}:\n{done.stdout}{done.stderr}"


def test_meltano_yml_pins_loaders_and_meltano_and_holds_no_secret() -> None:
    text = (ROOT / "meltano.yml").read_text(encoding="utf-8")
    for name in ("api_key", "api_password", "bearer_token", "password"):
        # A `$VARIABLE` is a reference to the environment, not a value.
        assert not re.search(rf"^\s*{name}:\s*[^\s$]", text, re.MULTILINE), name
    project = load_yaml(ROOT / "meltano.yml")
    plugins = project["plugins"]
    for plugin in plugins["loaders"] + plugins["transformers"]:
        specs = plugin["pip_url"].split()
        assert all(re.fullmatch(r"[\w.-]+==[\d.]+", spec) for spec in specs), plugin["name"]
        password = [s for s in plugin.get("settings", []) if s["name"] == "password"]
        assert all(setting["sensitive"] is True for setting in password), plugin["name"]
    jsonl = next(p for p in plugins["loaders"] if p["name"] == "target-jsonl")
    assert jsonl["config"]["destination_path"].startswith("output")
    pinned = re.search(r"^MELTANO_VERSION := ([\d.]+)$", MAKEFILE, re.MULTILINE)
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
        assert f"TARGET_POSTGRES_{name}=" in text, name


def steps_text(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) + str(step.get("uses", "")) for step in job["steps"])


def test_ci_workflow_tests_every_supported_python_and_lints() -> None:
    jobs = load_yaml(WORKFLOWS / "ci.yml")["jobs"]
    versions = jobs["tests"]["strategy"]["matrix"]["python-version"]
    assert versions == about()["supported_python_versions"]
    assert "make test" in steps_text(jobs["tests"])
    assert "make lint" in steps_text(jobs["lint"])
    lint_target = MAKEFILE.split("\nlint:", 1)[1].split("\n\n", 1)[0]
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
    assert {p.name for p in WORKFLOWS.glob("*.yml")} == {"ci.yml", "release.yml"}  # all in SCHEMAS
    jobs = [job for path in WORKFLOWS.glob("*.yml") for job in load_yaml(path)["jobs"].values()]
    uses = [step["uses"] for job in jobs for step in job.get("steps", []) if "uses" in step]
    assert [u for u in uses if not re.search(r"@(v\d[\w.]*|release/v\d+|[0-9a-f]{40})$", u)] == []
    config = load_yaml(ROOT / ".github" / "dependabot.yml")
    assert {u["package-ecosystem"] for u in config["updates"]} >= {"pip", "github-actions"}


def test_pre_commit_config_is_valid_and_has_the_promised_hooks() -> None:
    path = ROOT / ".pre-commit-config.yaml"
    hooks = {hook["id"] for repo in load_yaml(path)["repos"] for hook in repo["hooks"]}
    assert hooks >= {"ruff-check", "ruff-format", "mypy", "check-github-workflows"}
    assert hooks >= {"check-dependabot", "check-meltano"}
    pre_commit = str(Path(sys.executable).parent / "pre-commit")
    done = run(pre_commit, "validate-config", str(path), check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_generated_files_are_git_ignored_and_env_example_is_not() -> None:
    ignored = [".venv/x", ".meltano/x", ".meltano-venv/x", "output/x.jsonl", "dist/x.whl", ".env"]
    ignored += ["tap_centaur/__pycache__/x.pyc", "x.egg-info/PKG-INFO", ".pytest_cache/x"]
    ignored += [".mypy_cache/x", ".ruff_cache/x"]
    done = run("git", "check-ignore", "--no-index", *ignored, ".env.example", check=False)
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
    assert run("bash", "-n", str(path), check=False).returncode == 0
