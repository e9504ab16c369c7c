"""The tap's output through each Singer target of meltano.yml: a full run, then an incremental
one from the STATE the target passed on, every stream and label shape, `meltano invoke
tap-centaur > tap.jsonl` then `meltano invoke TARGET < tap.jsonl`; stored values, the passed-on
STATE and column types compared with the tap's output and the README's "Targets" table."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from centaur_sim import SimConfig, Simulator
from tests.e2e.conftest import Meltano, Postgres, RunResult, meltano_for, same, schema_for
from tests.test_docs import ROOT, run

pytestmark = pytest.mark.e2e

#: {table: ({column: type}, rows)}: what a target stored.
Stored = dict[str, tuple[dict[str, str], list[dict[str, Any]]]]
Messages = list[dict[str, Any]]

TARGETS = ("target-postgres", "target-postgres-pipelinewise", "target-duckdb")
#: The column type each target of TARGETS gives the fields whose storage differs between
#: targets (the README's "Targets" table says the same, tests/test_docs.py checks it).
TYPES_BY_FIELD = {
    "task_id": ("int8", "numeric", "HUGEINT"),
    "agreement": ("numeric", "float8", "DOUBLE"),
    "correct_label": ("_text", "jsonb", "JSON"),
    "correct_label_wkt": ("text", "varchar", "VARCHAR"),
    "read_stats": ("jsonb", "jsonb", "JSON"),
    "counts": ("jsonb", "jsonb", "JSON"),
    "content_metadata": ("_jsonb", "jsonb", "JSON"),
    "results": ("_jsonb", "jsonb", "JSON"),
    "undocumented_fields": ("jsonb", "jsonb", "JSON"),
}
COLUMN_TYPES = {
    target: {field: types[i] for field, types in TYPES_BY_FIELD.items()}
    for i, target in enumerate(TARGETS)
}
DUCKDB_SCHEMA = "centaur"
POSTGRES = TARGETS[:2]
COLUMNS = "SELECT table_name, column_name, {} FROM information_schema.columns WHERE table_schema = "
#: Run by target-duckdb's own Python.
READ_DUCKDB = f"""
import duckdb, json, sys
con = duckdb.connect(sys.argv[1], read_only=True)
stored = {{}}
for table, column, kind in con.execute("{COLUMNS.format("data_type")}?", [sys.argv[2]]).fetchall():
    stored.setdefault(table, ({{}}, []))[0][column] = kind
for table, (types, rows) in stored.items():
    cursor = con.execute(f'SELECT * FROM "{{sys.argv[2]}}"."{{table}}"')
    rows += [dict(zip([c[0] for c in cursor.description], row)) for row in cursor.fetchall()]
print(json.dumps(stored, default=str))
"""


def stored_in_postgres(postgres: Postgres) -> Stored:
    stored: Stored = {}
    for table, column, kind in postgres.all(COLUMNS.format("udt_name") + "%s", (postgres.schema,)):
        stored.setdefault(table, ({}, postgres.table(table)))[0][column] = kind
    return stored


def stored_in_duckdb(path: Path) -> Stored:
    python = ROOT / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin" / "python"
    completed = run(str(python), "-c", READ_DUCKDB, str(path), DUCKDB_SCHEMA, check=False)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return dict(json.loads(completed.stdout))


def latest_records(runs: list[Messages]) -> tuple[dict[str, Any], dict[str, dict[Any, Any]]]:
    """Each stream's schema, and its last record per primary key, over `runs` in order."""
    schemas: dict[str, Any] = {}
    latest: dict[str, dict[Any, Any]] = {}
    for message in (message for messages in runs for message in messages):
        if message["type"] == "SCHEMA":
            schemas[message["stream"]] = message
        elif message["type"] == "RECORD":
            keys, record = schemas[message["stream"]]["key_properties"], message["record"]
            latest.setdefault(message["stream"], {})[tuple(record[k] for k in keys)] = record
    return schemas, latest


def assert_stored_as_emitted(target: str, stored: Stored, runs: list[Messages]) -> None:
    schemas, latest = latest_records(runs)
    assert set(latest) == set(schemas) == set(stored), target
    for stream, records in latest.items():
        types, rows = stored[stream]
        keys = schemas[stream]["key_properties"]
        fields = set(schemas[stream]["schema"]["properties"])
        assert not {c for c in types if c not in fields and not c.startswith("_sdc_")}, stream
        by_key = {tuple(int(row[k]) for k in keys): row for row in rows}
        assert len(by_key) == len(rows), f"{target} {stream}: two rows for one key"
        assert set(by_key) == set(records), f"{target} {stream}"
        for key, record in records.items():
            row = by_key[key]
            for field in fields:
                value = record.get(field)
                assert same(row[field], value), (target, stream, key, field, row[field], value)
        for field in fields & set(COLUMN_TYPES[target]):
            assert types[field] == COLUMN_TYPES[target][field], (target, stream, field)


@dataclass
class Pipes:
    meltano: Meltano
    #: The tap's messages, of the full run then of the incremental run.
    runs: list[Messages]
    #: Per target, its two `meltano invoke` runs (stdout: the STATE lines it passed on).
    loads: dict[str, list[RunResult]]
    stored: dict[str, Stored]


@pytest.fixture(scope="module")
def pipes(
    meltano_bin: str, pg_settings: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipes]:
    """The full run (the first case of tasks 101, 103, 104 in `case_ids`), changes (cases updated
    in a choice, a box and a v2 task, cases added), the incremental run from the passed-on STATE."""
    config = SimConfig(
        port=0, tasks=4, cases=(30, 20, 25, 15), seed=2020, unsupported_task_ids=(104,),
        extra_fields=True,
    )  # fmt: skip
    workdir = tmp_path_factory.mktemp("targets")
    with Simulator(config) as sim, contextlib.ExitStack() as stack:
        sim.set_misbehaviour(102, "odd_labels")
        meltano = meltano_for(meltano_bin, sim, workdir)
        picked = [{"task_id": t, "case_id": sim.truth_v2(t)[0]["case_id"]} for t in (101, 103, 104)]
        meltano.env["TAP_CENTAUR_CASE_IDS"] = json.dumps(picked)
        postgres = {t: stack.enter_context(schema_for(pg_settings, meltano, t)) for t in POSTGRES}
        meltano.env["TARGET_DUCKDB_FILEPATH"] = str(workdir / "tap_centaur.duckdb")
        meltano.env["TARGET_DUCKDB_DEFAULT_TARGET_SCHEMA"] = DUCKDB_SCHEMA
        runs: list[Messages] = []
        loads: dict[str, list[RunResult]] = {target: [] for target in TARGETS}
        state: tuple[str, ...] = ()  # --state FILE: the STATE the targets passed on
        for run in (1, 2):
            output = workdir / f"tap-{run}.jsonl"  # meltano invoke tap-centaur > tap-RUN.jsonl
            output.write_text(meltano("invoke", "tap-centaur", *state).stdout, encoding="utf-8")
            messages = [json.loads(line) for line in output.read_text().splitlines()]
            runs.append(messages)
            results = meltano.concurrently([("invoke", t) for t in TARGETS], output, check=False)
            for target, result in zip(TARGETS, results, strict=True):
                loads[target].append(result)
            last = [m["value"] for m in messages if m["type"] == "STATE"][-1]
            state = ("--state", str(write_lines(workdir / f"state-{run}.json", [last])))
            if run == 1:
                sim.update_cases(101, count=3, rng_seed=1)
                sim.update_cases(103, count=3, rng_seed=2)
                sim.update_cases(104, count=2, rng_seed=3)
                sim.add_cases(102, 2)
        # The data has what the comparison must show: both label shapes, a label of another
        # shape, undocumented fields, v2 results, an incremental run that read only changes.
        latest = latest_records(runs)[1]
        cases = list(latest["task_results"].values())
        for label in ("correct_label", "correct_label_wkt", "majority_label_wkt"):
            assert any(r[label] for r in cases), label
        for extra in ("correct_label", "review_notes"):
            assert any(extra in r.get("undocumented_fields", {}) for r in cases), extra
        assert latest["task_results_v2"] and latest["case_results_v2"] and latest["case_results"]
        counts = [sum(m["type"] == "RECORD" for m in messages) for messages in runs]
        streams = {m["stream"] for m in runs[1] if m["type"] == "RECORD"}
        assert {"task_results", "task_results_v2"} <= streams and counts[1] < counts[0] / 2
        stored = {t: stored_in_postgres(database) for t, database in postgres.items()}
        stored["target-duckdb"] = stored_in_duckdb(workdir / "tap_centaur.duckdb")
        yield Pipes(meltano, runs, loads, stored)


@pytest.mark.parametrize("target", list(COLUMN_TYPES))
def test_full_then_incremental_run_is_stored_as_emitted(pipes: Pipes, target: str) -> None:
    for result, messages in zip(pipes.loads[target], pipes.runs, strict=True):
        tail = "\n".join(result.output.splitlines()[-30:])
        assert result.returncode == 0, f"{target} exited {result.returncode}:\n{tail}"
        # The STATE it passed on (what Meltano stores) is the tap's last.
        last = [m["value"] for m in messages if m["type"] == "STATE"][-1]
        assert [json.loads(line) for line in result.stdout.splitlines()][-1:] == [last], target
    assert_stored_as_emitted(target, pipes.stored[target], pipes.runs)


LABELS = ("correct_label", "majority_label")


def old_layout(messages: Messages) -> Messages:
    """The messages as the tap wrote them before a label had a field per shape: one field,
    a list or a WKT string (a JSON union the targets made jsonb)."""
    old: Messages = json.loads(json.dumps(messages))
    for message in old:
        fields = message.get("record") or message.get("schema", {}).get("properties", {})
        for label in LABELS if "correct_label_wkt" in fields else ():
            wkt = fields.pop(f"{label}_wkt")
            if message["type"] == "SCHEMA":
                fields[label] = {"type": ["array", "string", "object", "null"]}
            elif wkt is not None:
                fields[label] = wkt
    return old


def write_lines(path: Path, messages: Messages) -> Path:
    path.write_text("".join(json.dumps(m) + "\n" for m in messages), encoding="utf-8")
    return path


def test_a_table_loaded_before_takes_the_new_layout_after_the_documented_renames(
    pipes: Pipes, pg_settings: dict[str, str], tmp_path: Path
) -> None:
    """MeltanoLabs' target-postgres refuses the new label columns into old jsonb ones; after
    docs/WAREHOUSE.md's renames, the old columns keep their old rows (of `pipes`' full run as
    the tap wrote it before), the new ones fill."""
    meltano = Meltano(pipes.meltano.executable, dict(pipes.meltano.env), tmp_path)
    emitted = pipes.runs[0]
    with schema_for(pg_settings, meltano) as postgres:
        before = old_layout(emitted)
        meltano("invoke", "target-postgres", stdin=write_lines(tmp_path / "old.jsonl", before))
        assert stored_in_postgres(postgres)["task_results"][0]["correct_label"] == "jsonb"
        # The new layout, read again for task 101 only: refused as the document says...
        new = [m for m in emitted if m["type"] != "RECORD" or m["record"].get("task_id") == 101]
        new_file = write_lines(tmp_path / "new.jsonl", new)
        refused = meltano("invoke", "target-postgres", stdin=new_file, check=False)
        refusal = 'column "correct_label" is of type jsonb but expression is of type text[]'
        assert refused.returncode != 0 and refusal in refused.output
        # ...and loaded after the renames.
        text = (ROOT / "docs" / "WAREHOUSE.md").read_text(encoding="utf-8")
        renames = text.split("<!-- migration: rename_old_label_columns -->\n```sql\n")[1]
        with postgres.connection.cursor() as cursor:
            cursor.execute(f'SET search_path TO "{postgres.schema}"')
            cursor.execute(renames.split("```")[0])
        meltano("invoke", "target-postgres", stdin=new_file)
        stored = stored_in_postgres(postgres)
    old_records, new_records = latest_records([before])[1], latest_records([emitted])[1]
    for table in ("task_results", "case_results"):
        types, rows = stored[table]
        assert [types[f"{label}{s}"] for label in LABELS for s in ("", "_wkt", "_json")] == [
            "_text", "text", "jsonb"
        ] * 2  # fmt: skip
        assert len(rows) == len(old_records[table])
        for row in rows:
            key = (row["task_id"], row["case_id"])
            old, new = old_records[table][key], new_records[table][key]
            for label in LABELS:
                assert row[f"{label}_json"] == old[label], (table, key, label)
                fresh = [new[label], new[f"{label}_wkt"]] if key[0] == 101 else [None, None]
                assert [row[label], row[f"{label}_wkt"]] == fresh, (table, key, label)
