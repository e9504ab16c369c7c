"""The README and docs/ say what the project does: settings table, Quick start, troubleshooting
messages, scheduling, targets, dbt models."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
SOURCE = "\n".join(path.read_text() for path in sorted((ROOT / "tap_centaur").glob("*.py")))


def test_settings_table_matches_about_output():
    check = subprocess.run(
        [sys.executable, "scripts/sync_readme.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_quick_start_has_exactly_the_demo_and_the_test_command():
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = quick_start.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make demo", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^run_step \"make test\" make test\b", ci, re.MULTILINE)


#: A distinctive phrase of each error or warning the tap prints, as the README quotes it.
TROUBLESHOOTING_PHRASES = [
    "Invalid setting '",
    "Invalid state ",
    "login: the API rejected the credentials (HTTP ",
    "the API refused access (HTTP 403: ",
    "the API rejected the bearer token (HTTP 401)",
    "the API answered 401 even with a fresh token",
    " character (U+",
    "' carries credentials",
    "is not a log level",
    "every other task was synced and bookmarked",
    "tasks in a row, so the run stops",
    "not found or not visible to this API key (HTTP 404)",
    "case not found or not visible to this API key (HTTP 404)",
    "the API rejected the request (HTTP ",
    "). Parameters sent: ",
    "the API refused access (HTTP 403: ",
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
    tests/e2e/test_targets.py asserts for it."""
    from tests.e2e.test_targets import COLUMN_TYPES

    loaders = {p["name"]: p for p in YAML().load(ROOT / "meltano.yml")["plugins"]["loaders"]}
    table = README.split("<!-- targets-table", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    header = [cell.strip() for cell in table[0].strip("|").split("|")]
    columns = {"correct_label": 2, "correct_label_wkt": 3, "read_stats": 4, "counts": 4}
    columns |= {"undocumented_fields": 4, "content_metadata": 5, "results": 5}
    assert "`correct_label`" in header[2] and "`content_metadata`" in header[5]
    udt = {"text[]": "_text", "jsonb[]": "_jsonb", "character varying": "varchar"}
    udt |= {"bigint": "int8", "double precision": "float8"}
    rows = {}
    for line in table[2:]:
        cells = [re.findall(r"`([^`]+)`", cell) for cell in line.strip("|").split("|")]
        rows[cells[0][0]] = cells
    assert set(rows) == set(COLUMN_TYPES)
    for name, expected in COLUMN_TYPES.items():
        cells = rows[name]
        assert cells[1] == [loaders[name]["pip_url"]], name
        said = {field: [udt.get(t, t) for t in cells[column]] for field, column in columns.items()}
        said |= {"task_id": [udt.get(cells[6][0], cells[6][0])]}
        said |= {"agreement": [udt.get(cells[6][1], cells[6][1])]}
        assert {field: said[field] for field in expected} == {
            field: [column_type] for field, column_type in expected.items()
        }, name


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
    yaml = YAML(typ="safe", pure=True)
    tested = {}
    for path in models.rglob("_*.yml"):
        for model in yaml.load(path.read_text())["models"]:
            columns = model.get("columns") or []
            tested[model["name"]] = bool(model.get("data_tests")) or any(
                column.get("data_tests") for column in columns
            )
    assert tested == dict.fromkeys(files, True)


def readme_yaml(heading: str) -> Any:
    """The first YAML block of the README after `heading`."""
    block = re.search(r"```yaml\n(.*?)```", README.split(f"\n{heading}\n", 1)[-1], re.DOTALL)
    assert block, f"README.md has no YAML block under {heading!r}"
    return YAML(typ="safe", pure=True).load(block.group(1))


def test_readme_scheduling_blocks_are_what_meltano_yml_declares():
    project = YAML(typ="safe", pure=True).load(ROOT / "meltano.yml")
    assert readme_yaml("## Scheduling") == {k: project[k] for k in ("jobs", "schedules")}
    shards = ("tap-centaur--shard-0", "tap-centaur--shard-1")
    declared = [p for name in shards for p in project["plugins"]["extractors"] if p["name"] == name]
    assert readme_yaml("### Sharding: several jobs, one warehouse") == declared
    assert [p["config"] for p in declared] == [
        {"shard_count": 2, "shard_index": index} for index in (0, 1)
    ]
