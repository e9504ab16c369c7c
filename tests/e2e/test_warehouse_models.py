"""The dbt models of transform/ (docs/WAREHOUSE.md), built by Meltano's dbt-postgres transformer.

Two syncs into PostgreSQL in discovery mode (every task the API lists, two of them v2-only),
the second after cases changed on the simulator, as the one command that loads and models:
`meltano run tap-centaur target-postgres dbt-postgres:build` (the models' dbt tests run in it).
Then every mart's rows are compared with what the simulator's data (`truth()` for v1,
`truth_v2()` for v2) says they must be, the staging models' types and NULLs are checked, and a
row that breaks a model's test makes `dbt-postgres:test` fail. The same two syncs show results
v2 through Meltano into PostgreSQL: the v2 tables, and a second run that asks v2 directly.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from centaur_sim import SimConfig, Simulator
from tap_centaur.schemas import CASE_RESULT_SCHEMA
from tests.e2e.checks import RESULTS_V1, RESULTS_V2, bookmarks, first_pages, first_pages_per_task
from tests.e2e.conftest import ROOT, Meltano, Postgres, meltano_for, schema_for
from tests.harness.checks import as_emitted

pytestmark = pytest.mark.e2e

MODELS = ROOT / "transform" / "models"
Row = tuple[Any, ...]
Truth = list[dict[str, Any]]


def key(record: dict[str, Any]) -> tuple[int, int]:
    return int(record["task_id"]), int(record["case_id"])


def label_text(classes: list[str] | None, wkt: str | None) -> str | None:
    return wkt if classes is None else ", ".join(classes)


def mean(values: list[Any]) -> Decimal | None:
    numbers = [Decimal(str(v)) for v in values if v is not None]
    if not numbers:
        return None
    average = sum(numbers, Decimal(0)) / len(numbers)
    return average.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def number(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def utc(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(timezone.utc)


# --- what each mart must hold, from the simulator's data (without `extracted_at`) ----------


def expect_case_labels(truth: Truth, truth_v2: Truth, **_: Any) -> list[Row]:
    v1 = {
        key(r): (
            r["task_id"],
            r["case_id"],
            r["task_name"],
            r["task_type"],
            "v1",
            r["labeling_state"],
            r["correct_label"],
            r["majority_label"],
            r["correct_label_wkt"],
            r["majority_label_wkt"],
            label_text(r["correct_label"], r["correct_label_wkt"]),
            label_text(r["majority_label"], r["majority_label_wkt"]),
            number(r["agreement"]),
            number(r["difficulty"]),
            r["qualified_reads"],
            r["read_stats"]["total_reads"],
            utc(r["read_stats"]["last_read_at"]),
        )
        for r in truth
    }
    v2 = {
        key(r): (r["task_id"], r["case_id"], r["task_name"], r["task_type"], "v2",
                 r["labeling_state"], *[None] * 8, r["n_qualified_opinions"], None, None)
        for r in truth_v2
    }  # fmt: skip
    return [row for _, row in sorted({**v1, **v2}.items())]


def expect_case_votes(truth: Truth, no_counts: tuple[int, int], **_: Any) -> list[Row]:
    return [
        (r["task_id"], r["case_id"], label, votes)
        for r in sorted(truth, key=key)
        if key(r) != no_counts
        for label, votes in sorted(r["counts"].items())
    ]


def expect_case_contents(truth: Truth, **_: Any) -> list[Row]:
    return [
        (
            r["task_id"],
            r["case_id"],
            position,
            m["content_id"],
            m["origin"],
            utc(m["origin_created_at"]),
            m["series"],
            m["series_index"],
        )
        for r in sorted(truth, key=key)
        for position, m in enumerate(r["content_metadata"], start=1)
    ]


def expect_task_quality(truth: Truth, **_: Any) -> list[Row]:
    rows = []
    for task_id in sorted({r["task_id"] for r in truth}):
        cases = [r for r in truth if r["task_id"] == task_id]
        low = [r for r in cases if r["agreement"] is not None and r["agreement"] < 0.6]
        rows.append(
            (
                task_id,
                cases[0]["task_name"],
                len(cases),
                sum(r["agreement"] is not None for r in cases),
                mean([r["agreement"] for r in cases]),
                mean([r["difficulty"] for r in cases]),
                len(low),
            )
        )
    return rows


def expect_gold_standard_cases(truth: Truth, truth_v2: Truth, **_: Any) -> list[Row]:
    return [
        (*row[:6], row[6], row[8], row[10], row[14])
        for row in expect_case_labels(truth, truth_v2)
        if row[5] == "Gold Standard"
    ]


def expect_cases_changed_since(
    truth: Truth, truth_v2: Truth, changed: set[tuple[int, int]], **_: Any
) -> list[Row]:
    both = [(r, "v1") for r in truth] + [(r, "v2") for r in truth_v2]
    return [
        (r["task_id"], r["case_id"], api, r["labeling_state"])
        for r, api in sorted(both, key=lambda entry: key(entry[0]))
        if key(r) in changed
    ]


def expect_v2_result_contents(truth_v2: Truth, **_: Any) -> list[Row]:
    return [
        (
            r["task_id"],
            r["case_id"],
            position,
            item["content_metadata"][0]["content_id"],
            item["content_metadata"][0]["origin"],
            len(item["content_metadata"]),
            (item["prelabel"] or {}).get("type"),
            (item["prelabel"] or {}).get("value"),
            item,
        )
        for r in sorted(truth_v2, key=key)
        for position, item in enumerate(r["results"], start=1)
    ]


#: Each mart and the rows it must hold, ordered by its first three columns.
MARTS: dict[str, Callable[..., list[Row]]] = {
    "case_labels": expect_case_labels,
    "case_votes": expect_case_votes,
    "case_contents": expect_case_contents,
    "task_quality": expect_task_quality,
    "gold_standard_cases": expect_gold_standard_cases,
    "cases_changed_since": expect_cases_changed_since,
    "v2_result_contents": expect_v2_result_contents,
}
#: The v2-only tasks (v1 answers 426): one polygon task, and a choice task (so prelabels) with
#: an undocumented field (`review_notes`, on every other task).
V2_TASKS = (104, 105)


@dataclass
class Warehouse:
    """What two syncs loaded, and what the simulator saw of them."""

    sim: Simulator
    meltano: Meltano
    postgres: Postgres
    #: The schema of the models (dbt-postgres' `schema`).
    models: str
    #: The latest _sdc_extracted_at of the first sync in task_results_v2.
    since_v2: datetime
    #: The cases changed between the syncs, v1 and v2.
    changed: set[tuple[int, int]]
    changed_v2: set[tuple[int, int]]
    #: The `case_ids` entries (one case of each task).
    picked: list[tuple[int, int]]
    stats: tuple[dict[str, Any], dict[str, Any]]
    #: The parameters of the first-page requests to results v2 of the second sync.
    second_v2_pages: list[dict[str, str]]
    second_v1_tasks: set[int]
    #: A case whose loaded `counts` is JSON null (as target-postgres stores an absent one).
    no_counts: tuple[int, int]

    def truth(self) -> Truth:
        """The v1 case results (of the tasks v1 serves), as the tap emits them."""
        v1 = [r for r in self.sim.truth() if r["task_id"] not in V2_TASKS]
        return as_emitted(v1, CASE_RESULT_SCHEMA)

    def truth_v2(self) -> Truth:
        """The v2 items of the v2-only tasks."""
        return [r for task_id in V2_TASKS for r in self.sim.truth_v2(task_id)]

    def mart(self, name: str) -> list[Row]:
        """The rows of a mart without its `extracted_at` (checked to be set), in key order."""
        columns = [
            column
            for (column,) in self.postgres.all(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s"
                " AND table_name = %s ORDER BY ordinal_position",
                (self.models, name),
            )
        ]
        assert columns, f"no model {name} in {self.models}"
        if "extracted_at" in columns:
            unset = f'SELECT count(*) FROM "{self.models}".{name} WHERE extracted_at IS NULL'
            assert self.postgres.scalar(unset) == 0, name
            columns.remove("extracted_at")
        query = f'SELECT {", ".join(columns)} FROM "{self.models}".{name} ORDER BY 1, 2, 3'
        return [tuple(row) for row in self.postgres.all(query)]


@pytest.fixture(scope="module")
def warehouse(
    meltano_bin: str, pg_settings: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Warehouse]:
    """Two syncs of three v1 tasks and two v2-only ones into PostgreSQL, in discovery mode."""
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
                yield sync_twice(sim, meltano, postgres, models.schema)
            finally:
                models.close()


def sync_twice(sim: Simulator, meltano: Meltano, postgres: Postgres, models: str) -> Warehouse:
    meltano.env["TAP_CENTAUR_TASK_IDS"] = "[]"  # discovery: every task the API lists
    # One case of each task is also fetched alone into case_results(_v2): the views merge them.
    picked = [(t, sim.truth_v2(t)[0]["case_id"]) for t in sim.task_ids()]
    case_ids = [{"task_id": t, "case_id": c} for t, c in picked]
    meltano.env["TAP_CENTAUR_CASE_IDS"] = json.dumps(case_ids)
    meltano("run", "tap-centaur", "target-postgres")
    first_stats = sim.stats()
    since_v2 = postgres.last_extracted("task_results_v2")
    # The models read the tables of this test's schema, and list the cases read after the first
    # sync (its latest row, v1 or v2) as changed.
    since = max(since_v2, postgres.last_extracted())
    meltano.env.update(
        DBT_POSTGRES_SOURCE_SCHEMA=postgres.schema,
        DBT_POSTGRES_SCHEMA=models,
        DBT_POSTGRES_CHANGED_SINCE=f"{since.isoformat()}+00:00",
    )

    # Between the syncs: new reads for some cases (at a whole second after `since`, as
    # read_stats keeps whole seconds), a labeling state set on another without a read; in v1
    # and in v2 tasks.
    at = float(math.floor(time.time()) + 1)
    reread = {(101, c) for c in sim.update_cases(101, count=4, rng_seed=1, at=at)}
    reread |= {(103, c) for c in sim.update_cases(103, count=3, rng_seed=2, at=at)}
    untouched = [r for r in sim.truth(102) if r["labeling_state"] != "Gold Standard"]
    sim.set_labeling_state(102, untouched[0]["case_id"], "Gold Standard", at=at)
    changed = reread | {(102, untouched[0]["case_id"])}
    changed_v2 = {(105, c) for c in sim.update_cases(105, count=3, rng_seed=3, at=at)}
    ready = [r for r in sim.truth_v2(104) if r["labeling_state"] != "Gold Standard"]
    sim.set_labeling_state(104, ready[0]["case_id"], "Gold Standard", at=at)
    changed_v2.add((104, ready[0]["case_id"]))
    # A case loaded without votes counted: the API sent `counts` null (or none), which
    # target-postgres stores as JSON null; the second sync does not read it again.
    no_counts = next(
        (102, r["case_id"])
        for r in sim.truth(102)
        if r["counts"] and (102, r["case_id"]) not in changed and (102, r["case_id"]) not in picked
    )
    postgres.all(
        "UPDATE {schema}.task_results SET counts = 'null' WHERE task_id = %s AND case_id = %s",
        no_counts,
    )
    sim.reset_stats()
    meltano("run", "tap-centaur", "target-postgres", "dbt-postgres:build")
    return Warehouse(
        sim=sim,
        meltano=meltano,
        postgres=postgres,
        models=models,
        since_v2=since_v2,
        changed=changed,
        changed_v2=changed_v2,
        picked=picked,
        stats=(first_stats, sim.stats()),
        second_v2_pages=first_pages(sim, RESULTS_V2),
        second_v1_tasks=set(first_pages_per_task(sim, RESULTS_V1)),
        no_counts=no_counts,
    )


def test_every_mart_holds_what_the_simulator_says(warehouse: Warehouse) -> None:
    assert {p.stem for p in (MODELS / "marts").glob("*.sql")} == set(MARTS)
    truth, truth_v2 = warehouse.truth(), warehouse.truth_v2()
    # The data has what the marts need to show: both label shapes, cases without a correct
    # label, Gold Standard cases in v1 and v2, prelabels, several pieces of content.
    assert {r["task_type"] for r in truth} == {"choice", "box"}
    assert any(r["correct_label"] is None and r["correct_label_wkt"] is None for r in truth)
    for cases in (truth, truth_v2):
        assert any(r["labeling_state"] == "Gold Standard" for r in cases)
    assert any(item["prelabel"] for r in truth_v2 for item in r["results"])
    assert any(len(r["results"]) > 1 for r in truth_v2)
    changed = warehouse.changed | warehouse.changed_v2
    failures = []
    for name, expect in MARTS.items():
        rows = warehouse.mart(name)
        expected = expect(
            truth=truth, truth_v2=truth_v2, changed=changed, no_counts=warehouse.no_counts
        )
        if rows != expected:
            diff = [(a, b) for a, b in zip(rows, expected, strict=False) if a != b][:3]
            failures.append(
                f"{name}: {len(rows)} rows, expected {len(expected)}; first differences: {diff}"
            )
    assert not failures, "\n".join(failures)


def test_staging_models_are_typed_and_json_null_is_sql_null(warehouse: Warehouse) -> None:
    postgres, models = warehouse.postgres, warehouse.models
    sql = "SELECT column_name, data_type FROM information_schema.columns"
    types = dict(postgres.all(f"{sql} WHERE table_schema = %s AND table_name = %s",
                              (models, "stg_task_results")))  # fmt: skip
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


#: The typed columns of the v2 tables, as the API's v2 items name them.
V2_COLUMNS = (
    "task_name",
    "project_id",
    "project_name",
    "task_type",
    "content_type",
    "labeling_state",
    "n_qualified_opinions",
    "results",
)


def assert_v2_rows(rows: dict[tuple[int, int], dict[str, Any]], items: Truth) -> None:
    """Each row holds its v2 item: the published fields typed, the rest in undocumented_fields."""
    assert set(rows) == {key(item) for item in items}
    for item in items:
        row = rows[key(item)]
        for name in V2_COLUMNS:
            assert row[name] == item[name], (key(item), name, row[name], item[name])
        extra = {k: v for k, v in item.items() if k not in (*V2_COLUMNS, "task_id", "case_id")}
        assert row["undocumented_fields"] == (extra or None), key(item)


def test_results_v2_through_meltano_into_postgres(warehouse: Warehouse) -> None:
    postgres = warehouse.postgres
    first, second = warehouse.stats
    # The first sync learnt from v1's 426 that 104 and 105 need v2 (their lists, and the
    # case_ids entries of theirs)...
    assert first["requests"][RESULTS_V1].get("426") == len(V2_TASKS)
    assert first["requests"]["/results/public/v1/get"].get("426") == len(V2_TASKS)
    # ...and the second asked v2 directly, from each task's bookmark: no 426 at all.
    assert not [path for path, by_status in second["requests"].items() if "426" in by_status]
    assert warehouse.second_v1_tasks == {101, 102, 103}
    v2_marks = bookmarks(warehouse.meltano.state("dev:tap-centaur-to-target-postgres"),
                         "task_results_v2")  # fmt: skip
    assert set(v2_marks) == set(V2_TASKS)
    assert sorted(int(p["task_id"]) for p in warehouse.second_v2_pages) == list(V2_TASKS)
    assert all("updated_after" in p for p in warehouse.second_v2_pages)
    # The second sync read only what changed (and the case_ids entries, read every sync).
    assert second["records_served"] == (
        len(warehouse.changed) + len(warehouse.changed_v2) + len(warehouse.picked)
    )

    # task_results_v2 and case_results_v2: their own tables, keyed like v1 (their column
    # types: tests/e2e/test_targets.py).
    for table in ("task_results_v2", "case_results_v2"):
        assert postgres.primary_key(table) == ["task_id", "case_id"]
    truth_v2 = warehouse.truth_v2()
    assert_v2_rows(postgres.rows("task_results_v2"), truth_v2)
    assert postgres.extracted_since("task_results_v2", warehouse.since_v2) == warehouse.changed_v2
    # No v2 task in the v1 tables.
    assert not postgres.scalar(
        "SELECT count(*) FROM {schema}.task_results WHERE task_id = ANY(%s)", (list(V2_TASKS),)
    )

    # case_ids entries of v2 tasks land in case_results_v2, as v2 items.
    picked_v2 = {p for p in warehouse.picked if p[0] in V2_TASKS}
    assert_v2_rows(postgres.rows("case_results_v2"), [r for r in truth_v2 if key(r) in picked_v2])


def test_a_row_that_breaks_a_models_test_fails_dbt(warehouse: Warehouse) -> None:
    postgres, meltano = warehouse.postgres, warehouse.meltano
    (case_id,) = postgres.all("SELECT min(case_id) FROM {schema}.task_results")[0]
    postgres.all(
        "UPDATE {schema}.task_results SET labeling_state = 'Reviewed' WHERE case_id = %s",
        (case_id,),
    )
    try:
        failed = meltano("invoke", "dbt-postgres:test", check=False)
    finally:
        [state] = [r["labeling_state"] for r in warehouse.truth() if r["case_id"] == case_id]
        postgres.all(
            "UPDATE {schema}.task_results SET labeling_state = %s WHERE case_id = %s",
            (state, case_id),
        )
    assert failed.returncode != 0
    assert "FAIL 1 accepted_values_stg_task_results_labeling_state" in failed.output, failed.output[
        -3000:
    ]
    assert meltano("invoke", "dbt-postgres:test").returncode == 0
