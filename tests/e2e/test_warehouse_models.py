"""The dbt models of transform/ (docs/WAREHOUSE.md) built by Meltano's dbt-postgres, and
results v2 through Meltano into PostgreSQL: two syncs in discovery mode (two tasks v2-only), the
second after changes, as `meltano run tap-centaur target-postgres dbt-postgres:build`."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from centaur_sim import SimConfig, Simulator
from tap_centaur.schemas import CASE_RESULT_V2_SCHEMA
from tests.e2e.conftest import (
    RESULTS_V1,
    RESULTS_V2,
    Meltano,
    Postgres,
    assert_rows_match,
    bookmarks,
    by_key,
    first_pages,
    first_pages_per_task,
    meltano_for,
    schema_for,
    truth_by_key,
)
from tests.harness.checks import as_emitted
from tests.test_docs import ROOT

pytestmark = pytest.mark.e2e

Record = dict[str, Any]
KEY = ("task_id", "case_id")
#: The v2-only tasks (v1 answers 426): one polygon task, and a choice task (so prelabels) with
#: an undocumented field (`review_notes`, on every other task).
V2_TASKS = (104, 105)


def key(record: Record) -> tuple[int, int]:
    return record["task_id"], record["case_id"]


def pick(record: Record, *names: str) -> Record:
    return {name: record.get(name) for name in names}


def label_text(record: Record, label: str) -> str | None:
    classes = record[label]
    return record[f"{label}_wkt"] if classes is None else ", ".join(classes)


def number(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def mean(values: list[Any]) -> Decimal | None:
    numbers = [Decimal(str(v)) for v in values if v is not None]
    if not numbers:
        return None
    return (sum(numbers, Decimal(0)) / len(numbers)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def utc(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(timezone.utc)


def task_quality(cases: list[Record]) -> Record:
    agreements = [r["agreement"] for r in cases if r["agreement"] is not None]
    return {
        **pick(cases[0], "task_id", "task_name"),
        "cases": len(cases),
        "cases_with_votes": len(agreements),
        "mean_agreement": mean(agreements),
        "mean_difficulty": mean([r["difficulty"] for r in cases]),
        "low_agreement_cases": sum(a < 0.6 for a in agreements),
    }


def expected_marts(
    truth: list[Record], truth_v2: list[Record], changed: set[tuple[int, int]], no_counts: Any
) -> dict[str, list[Record]]:
    """What each mart must hold (a column a row leaves out: NULL), without `extracted_at`."""
    labels = [
        {
            **pick(r, *KEY, "task_name", "task_type", "labeling_state", "qualified_reads"),
            **pick(r, "correct_label", "majority_label", "correct_label_wkt", "majority_label_wkt"),
            "results_api": "v1",
            "correct_label_text": label_text(r, "correct_label"),
            "majority_label_text": label_text(r, "majority_label"),
            "agreement": number(r["agreement"]),
            "difficulty": number(r["difficulty"]),
            "total_reads": r["read_stats"]["total_reads"],
            "last_read_at": utc(r["read_stats"]["last_read_at"]),
        }
        for r in truth
    ] + [
        {
            **pick(r, *KEY, "task_name", "task_type", "labeling_state"),
            "results_api": "v2",
            "qualified_reads": r["n_qualified_opinions"],
        }
        for r in truth_v2
    ]
    gold = [*KEY, "task_name", "task_type", "results_api", "labeling_state", "correct_label"]
    gold += ["correct_label_wkt", "correct_label_text", "qualified_reads"]
    return {
        "case_labels": labels,
        "case_votes": [
            {**pick(r, *KEY), "label": label, "votes": votes}
            for r in truth
            if key(r) != no_counts
            for label, votes in r["counts"].items()
        ],
        "case_contents": [
            {
                **pick(r, *KEY),
                "position": position,
                "origin_created_at": utc(m["origin_created_at"]),
            }
            | pick(m, "content_id", "origin", "series", "series_index")
            for r in truth
            for position, m in enumerate(r["content_metadata"], start=1)
        ],
        "task_quality": [
            task_quality([r for r in truth if r["task_id"] == task_id])
            for task_id in {r["task_id"] for r in truth}
        ],
        "gold_standard_cases": [
            pick(row, *gold) for row in labels if row["labeling_state"] == "Gold Standard"
        ],
        "cases_changed_since": [
            pick(row, *KEY, "results_api", "labeling_state")
            for row in labels
            if key(row) in changed
        ],
        "v2_result_contents": [
            {
                **pick(r, *KEY),
                **pick(item["content_metadata"][0], "content_id", "origin"),
                "position": position,
                "frames": len(item["content_metadata"]),
                "prelabel_type": (item["prelabel"] or {}).get("type"),
                "prelabel_value": (item["prelabel"] or {}).get("value"),
                "result": item,
            }
            for r in truth_v2
            for position, item in enumerate(r["results"], start=1)
        ],
    }


@dataclass
class Warehouse:
    """What two syncs loaded, and what the simulator saw of them."""

    sim: Simulator
    meltano: Meltano
    postgres: Postgres
    #: The schema of the models (dbt-postgres' `schema`).
    models: Postgres
    #: The cases changed between the syncs, v1 and v2.
    changed: set[tuple[int, int]]
    #: The `case_ids` entries (one case of each task).
    picked: list[tuple[int, int]]
    first_stats: dict[str, Any]
    #: A case whose loaded `counts` is JSON null (as target-postgres stores an absent one).
    no_counts: tuple[int, int]

    def truth(self) -> list[Record]:
        return list(truth_by_key(self.sim, set(self.sim.task_ids()) - set(V2_TASKS)).values())

    def truth_v2(self) -> list[Record]:
        return [r for task_id in V2_TASKS for r in self.sim.truth_v2(task_id)]


@pytest.fixture(scope="module")
def warehouse(
    meltano_bin: str, pg_settings: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Warehouse]:
    config = SimConfig(
        port=0, tasks=4, cases=(60, 60, 60, 40), seed=7, unsupported_task_ids=(104,),
        record_requests=True,
    )  # fmt: skip
    with Simulator(config) as sim:
        assert sim.add_task(cases=30, task_type="choice", unsupported=True) == 105
        meltano = meltano_for(meltano_bin, sim, Path(tmp_path_factory.mktemp("warehouse")))
        with schema_for(pg_settings, meltano) as postgres:
            models = Postgres(pg_settings, f"{postgres.schema}_models")
            try:
                yield sync_twice(sim, meltano, postgres, models)
            finally:
                models.close()


def sync_twice(sim: Simulator, meltano: Meltano, postgres: Postgres, models: Postgres) -> Warehouse:
    meltano.env["TAP_CENTAUR_TASK_IDS"] = "[]"  # discovery: every task the API lists
    # One case of each task is also fetched alone into case_results(_v2): the views merge them.
    picked = [(t, sim.truth_v2(t)[0]["case_id"]) for t in sim.task_ids()]
    meltano.env["TAP_CENTAUR_CASE_IDS"] = json.dumps(
        [{"task_id": t, "case_id": c} for t, c in picked]
    )
    meltano("run", "tap-centaur", "target-postgres")
    first_stats = sim.stats()
    # The models read this test's schema, and list the cases read after the first sync's
    # latest row (v1 or v2) as changed.
    since = max(postgres.last_extracted("task_results_v2"), postgres.last_extracted())
    meltano.env.update(
        DBT_POSTGRES_SOURCE_SCHEMA=postgres.schema,
        DBT_POSTGRES_SCHEMA=models.schema,
        DBT_POSTGRES_CHANGED_SINCE=f"{since.isoformat()}+00:00",
    )
    # Between the syncs: new reads for some cases (at a whole second after `since`, as
    # read_stats keeps whole seconds), a labeling state set on another without a read; in v1
    # and in v2 tasks.
    at = float(math.floor(time.time()) + 1)
    changed = set()
    for task_id, count, seed in ((101, 4, 1), (103, 3, 2), (105, 3, 3)):
        updated = sim.update_cases(task_id, count=count, rng_seed=seed, at=at)
        changed |= {(task_id, case_id) for case_id in updated}
    for task_id, truth in ((102, sim.truth(102)), (104, sim.truth_v2(104))):
        case_id = next(r["case_id"] for r in truth if r["labeling_state"] != "Gold Standard")
        sim.set_labeling_state(task_id, case_id, "Gold Standard", at=at)
        changed.add((task_id, case_id))
    # A case loaded without votes counted: the API sent `counts` null (or none), which
    # target-postgres stores as JSON null; the second sync does not read it again.
    no_counts = next(
        key(r) for r in sim.truth(102) if r["counts"] and key(r) not in changed | set(picked)
    )
    postgres.all(
        "UPDATE {schema}.task_results SET counts = 'null' WHERE task_id = %s AND case_id = %s",
        no_counts,
    )
    sim.reset_stats()
    meltano("run", "tap-centaur", "target-postgres", "dbt-postgres:build")
    return Warehouse(sim, meltano, postgres, models, changed, picked, first_stats, no_counts)


def test_every_mart_holds_what_the_simulator_says(warehouse: Warehouse) -> None:
    truth, truth_v2 = warehouse.truth(), warehouse.truth_v2()
    # The data has what the marts need to show: both label shapes, cases without a correct
    # label, Gold Standard cases in v1 and v2, prelabels, several pieces of content.
    assert {r["task_type"] for r in truth} == {"choice", "box"}
    assert any(r["correct_label"] is None and r["correct_label_wkt"] is None for r in truth)
    for cases in (truth, truth_v2):
        assert any(r["labeling_state"] == "Gold Standard" for r in cases)
    assert any(item["prelabel"] for r in truth_v2 for item in r["results"])
    assert any(len(r["results"]) > 1 for r in truth_v2)
    marts = expected_marts(truth, truth_v2, warehouse.changed, warehouse.no_counts)
    assert {p.stem for p in (ROOT / "transform" / "models" / "marts").glob("*.sql")} == set(marts)
    failures = []
    for name, expected in marts.items():
        rows = warehouse.models.table(name)
        assert all(row.pop("extracted_at", "none") is not None for row in rows), name
        columns = list(rows[0])
        assert set(columns) == {column for row in expected for column in row}, name
        actual, wanted = (
            sorted((tuple(row.get(c) for c in columns) for row in table), key=lambda r: r[:3])
            for table in (rows, expected)
        )
        if actual != wanted:
            diff = [(a, b) for a, b in zip(actual, wanted, strict=False) if a != b][:3]
            failures.append(f"{name}: {len(actual)} rows, expected {len(wanted)}; first: {diff}")
    assert not failures, "\n".join(failures)


def test_staging_models_are_typed_and_json_null_is_sql_null(warehouse: Warehouse) -> None:
    postgres, models = warehouse.postgres, warehouse.models.schema
    sql = "SELECT column_name, data_type FROM information_schema.columns"
    sql += " WHERE table_schema = %s AND table_name = 'stg_task_results'"
    types = dict(postgres.all(sql, (models,)))
    assert types["total_reads"] == "integer"
    for name in ("first_read_at", "last_read_at", "extracted_at"):
        assert types[name] == "timestamp with time zone", name
    assert types["correct_label"] == "ARRAY" and types["correct_label_wkt"] == "text"
    truth = warehouse.truth()
    never_read = sum(r["read_stats"]["first_read_at"] is None for r in truth)
    assert never_read > 0
    # In the loaded table, JSON null; in the model, SQL NULL.
    for table, where, expected in (
        ("{schema}.task_results", "read_stats -> 'first_read_at' = 'null'", never_read),
        (f'"{models}".stg_task_results', "first_read_at IS NULL", never_read),
        ("{schema}.task_results", "undocumented_fields = 'null'", len(truth)),
        (f'"{models}".stg_task_results', "undocumented_fields IS NULL", len(truth)),
    ):
        assert postgres.scalar(f"SELECT count(*) FROM {table} WHERE {where}") == expected, where


def test_results_v2_through_meltano_into_postgres(warehouse: Warehouse) -> None:
    postgres, sim, first = warehouse.postgres, warehouse.sim, warehouse.first_stats
    # The first sync learnt from v1's 426 that 104 and 105 need v2 (their lists, and the
    # case_ids entries of theirs)...
    assert first["requests"][RESULTS_V1].get("426") == len(V2_TASKS)
    assert first["requests"]["/results/public/v1/get"].get("426") == len(V2_TASKS)
    # ...and the second asked v2 directly, from each task's bookmark: no 426 at all.
    second = sim.stats()
    assert not [path for path, by_status in second["requests"].items() if "426" in by_status]
    assert set(first_pages_per_task(sim, RESULTS_V1)) == {101, 102, 103}
    state = warehouse.meltano.state("dev:tap-centaur-to-target-postgres")
    assert set(bookmarks(state, "task_results_v2")) == set(V2_TASKS)
    v2_pages = sorted(
        (int(p["task_id"]), "updated_after" in p) for p in first_pages(sim, RESULTS_V2)
    )
    assert v2_pages == [(task_id, True) for task_id in V2_TASKS]
    # The second sync read only what changed (and the case_ids entries, read every sync).
    assert second["records_served"] == len(warehouse.changed) + len(warehouse.picked)

    # task_results_v2 and case_results_v2: their own tables, keyed like v1, each row its v2
    # item (case_ids entries of v2 tasks in case_results_v2); no v2 task in the v1 tables.
    truth_v2 = by_key(as_emitted(warehouse.truth_v2(), CASE_RESULT_V2_SCHEMA))
    picked = {k: truth_v2[k] for k in warehouse.picked if k[0] in V2_TASKS}
    for table, truth in (("task_results_v2", truth_v2), ("case_results_v2", picked)):
        assert postgres.primary_key(table) == "PRIMARY KEY (task_id, case_id)"
        assert_rows_match(postgres.rows(table), truth, CASE_RESULT_V2_SCHEMA)
    sql = "SELECT count(*) FROM {schema}.task_results WHERE task_id = ANY(%s)"
    assert not postgres.scalar(sql, (list(V2_TASKS),))


def test_a_row_that_breaks_a_models_test_fails_dbt(warehouse: Warehouse) -> None:
    postgres, meltano = warehouse.postgres, warehouse.meltano
    case_id = postgres.scalar("SELECT min(case_id) FROM {schema}.task_results")
    sql = "UPDATE {schema}.task_results SET labeling_state = %s WHERE case_id = %s"
    postgres.all(sql, ("Reviewed", case_id))
    try:
        failed = meltano("invoke", "dbt-postgres:test", check=False)
    finally:
        [state] = [r["labeling_state"] for r in warehouse.truth() if r["case_id"] == case_id]
        postgres.all(sql, (state, case_id))
    fail = "FAIL 1 accepted_values_stg_task_results_labeling_state"
    assert failed.returncode != 0 and fail in failed.output, failed.output[-3000:]
    assert meltano("invoke", "dbt-postgres:test").returncode == 0
