"""The README and docs/ say what the project does: settings table, Quick start, troubleshooting
messages, scheduling, targets, dbt models."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SOURCE = "\n".join(path.read_text() for path in sorted((ROOT / "tap_centaur").glob("*.py")))


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def run(*command: str, check: bool = True, **options: Any) -> subprocess.CompletedProcess[str]:
    """Run `command` (in the repository, no stdin, 120 s at most), its output captured."""
    options = {"cwd": ROOT, "timeout": 120, **options}
    return subprocess.run(
        command, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=check, **options
    )


@cache
def about() -> dict[str, Any]:
    return dict(
        json.loads(run(sys.executable, "-m", "tap_centaur", "--about", "--format=json").stdout)
    )


def readme_block(heading: str, language: str = "yaml") -> str:
    """The first `language` block of the README after `heading`."""
    block = re.search(rf"```{language}\n(.*?)```", README.split(f"\n{heading}\n", 1)[1], re.DOTALL)
    assert block, f"README.md has no {language} block under {heading!r}"
    return block.group(1)


def readme_yaml(heading: str) -> Any:
    return YAML(typ="safe", pure=True).load(readme_block(heading))


def test_settings_table_matches_about_output():
    check = run(sys.executable, "scripts/sync_readme.py", "--check", check=False)
    assert check.returncode == 0, check.stdout + check.stderr


def test_quick_start_has_exactly_the_demo_and_the_test_command():
    block = readme_block("## Quick start", "bash").strip().splitlines()
    assert [line.split("#")[0].strip() for line in block] == ["make demo", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^run_step \"make test\" make test\b", ci, re.MULTILINE)


#: A distinctive phrase of each error or warning the tap prints, as the README quotes it.
TROUBLESHOOTING_PHRASES = [
    "Invalid setting '",
    "Invalid state ",
    "Invalid config file '",
    "Invalid catalog file '",
    "login: the API rejected the credentials (HTTP ",
    "the API refused access (HTTP 403: ",
    "the API rejected the bearer token (HTTP 401)",
    "the API answered 401 even with a fresh token",
    " character (U+",
    "' carries credentials",
    "is not a log level",
    "every other task was synced and bookmarked",
    "tasks in a row, so the run stops",
    "case not found or not visible to this API key (HTTP 404)",
    "the API rejected the request (HTTP ",
    "). Parameters sent: ",
    "a redirect to another origin (",
    "redirected more than ",
    "the TLS handshake",
    "the proxy ",
    "giving up after ",
    "the answer was not complete within request_timeout=",
    "no answer within request_timeout=",
    "failed or was reset (",
    "truncated response",
    "answer is not JSON (or not UTF-8): ",
    " answered 200 but ",
    "Expected: ",
    "the API said has_next=true but sent no last_sequence_id",
    "the API's cursor went from last_sequence_id=",
    "the API sent no usable Date header, so the bookmark stays where it was",
    "is larger than max_response_mb=",
    "pages in a row brought no record while the API said has_next=true",
    "is later than now (",
    "and this machine's clock (",
    "is later than both the API's clock",
    "The output was closed before the run ended: the target stopped reading",
    "Writing the output failed: no space left on the device",
    "login: the API answered ",
    "Unexpected error (",
]


def test_troubleshooting_table_quotes_messages_the_tap_really_prints():
    table = README.split("### Troubleshooting", 1)[1].split("\n## ", 1)[0]
    flat_source = re.sub(r'"\s*\n\s*f?"', "", SOURCE)  # join implicitly concatenated strings
    for phrase in TROUBLESHOOTING_PHRASES:
        assert phrase in table.replace("`", ""), phrase
        fragment = phrase.split("{")[0]
        assert fragment in flat_source or fragment.replace("N ", "") in flat_source, phrase


def test_the_targets_table_says_what_the_target_tests_check():
    """Each row: the loader's pinned pip_url in meltano.yml, the column types
    tests/e2e/test_targets.py asserts for it (the last column: integers, numbers)."""
    from tests.e2e.test_targets import COLUMN_TYPES

    loaders = {
        p["name"]: p["pip_url"] for p in load_yaml(ROOT / "meltano.yml")["plugins"]["loaders"]
    }
    table = README.split("<!-- targets-table", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    header, _, *rows = [
        [re.findall(r"`([^`]+)`", cell) for cell in line.strip("|").split("|")] for line in table
    ]
    udt = {"text[]": "_text", "jsonb[]": "_jsonb", "character varying": "varchar"}
    udt |= {"bigint": "int8", "double precision": "float8"}
    columns = [*header[2:-1], ["task_id"], ["agreement"]]
    said = {}
    for (name, *_), pinned, *types in rows:
        cells = [*types[:-1], *([t] for t in types[-1])]
        by_field = {
            field: udt.get(t, t)
            for fields, [t] in zip(columns, cells, strict=True)
            for field in fields
        }
        said[name] = pinned, {field: by_field[field] for field in COLUMN_TYPES.get(name, {})}
    assert said == {name: ([loaders[name]], types) for name, types in COLUMN_TYPES.items()}


def test_warehouse_doc_guides_every_dbt_model_and_each_has_tests():
    doc = (ROOT / "docs" / "WAREHOUSE.md").read_text()
    table = doc.split("## The models", 1)[1].split("\n\n", 2)[1]
    listed = set(re.findall(r"`((?:stg|int)_\w+|\w+)`", " ".join(
        line.split("|")[2] for line in table.splitlines()[2:]
    )))  # fmt: skip
    models = ROOT / "transform" / "models"
    files = {path.stem: path.parent.name for path in models.rglob("*.sql")}
    assert listed == set(files)
    marts = {name for name, layer in files.items() if layer == "marts"}
    assert set(re.findall(r"^### `(\w+)`", doc, re.MULTILINE)) == marts
    declared = [model for path in models.rglob("_*.yml") for model in load_yaml(path)["models"]]
    tests = {m["name"]: [m, *(m.get("columns") or [])] for m in declared}  # the model's, columns'
    tested = {name: any(t.get("data_tests") for t in where) for name, where in tests.items()}
    assert tested == dict.fromkeys(files, True)


def test_readme_scheduling_blocks_are_what_meltano_yml_declares():
    project = load_yaml(ROOT / "meltano.yml")
    assert readme_yaml("## Scheduling") == {k: project[k] for k in ("jobs", "schedules")}
    shards = ("tap-centaur--shard-0", "tap-centaur--shard-1")
    declared = [p for name in shards for p in project["plugins"]["extractors"] if p["name"] == name]
    assert readme_yaml("### Sharding: several jobs, one warehouse") == declared
    shards_config = [{"shard_count": 2, "shard_index": index} for index in (0, 1)]
    assert [p["config"] for p in declared] == shards_config
