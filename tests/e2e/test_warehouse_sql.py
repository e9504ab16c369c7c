"""Every SQL block of docs/WAREHOUSE.md, against tables a real `meltano run` loaded.

Two syncs into PostgreSQL in discovery mode (every task the API lists, two of them v2-only),
the second after cases changed on the simulator; then each block of the document runs as
written, after `SET search_path` to the test's schema, and its rows are compared with what the
simulator's data (`truth()` for v1, `truth_v2()` for v2) says they must be. A block without a
`check:` marker, or a marker without a check here, fails the test. The two date literals of the
"changed since" queries are replaced by the time between the syncs. The same two syncs show
results v2 through Meltano into PostgreSQL (issue 13): the v2 tables, and a second run that asks
v2 directly.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter
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

DOC = ROOT / "docs" / "WAREHOUSE.md"
BLOCK = re.compile(r"(?:<!-- check: (\w+) -->\n)?```sql\n(.*?)```", re.DOTALL)
EXTRACTED_SINCE = "'2026-11-30 00:00:00'"
READ_SINCE = "'2026-11-30 00:00:00+00'"
Row = tuple[Any, ...]
Truth = list[dict[str, Any]]


def sql_blocks() -> list[tuple[str, str]]:
    blocks = BLOCK.findall(DOC.read_text(encoding="utf-8"))
    unmarked = [sql.splitlines()[0] for name, sql in blocks if not name]
    assert not unmarked, f"SQL blocks of {DOC.name} without a check marker: {unmarked}"
    return [(name, sql) for name, sql in blocks]


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


def utc(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(timezone.utc)


# --- what each block must return, from the simulator's data -------------------------------


def expect_case_labels(truth: Truth, **_: Any) -> list[Row]:
    return [
        (
            r["task_id"],
            r["case_id"],
            r["task_name"],
            r["task_type"],
            r["labeling_state"],
            r["correct_label"],
            r["majority_label"],
            r["correct_label_wkt"],
            r["majority_label_wkt"],
            label_text(r["correct_label"], r["correct_label_wkt"]),
            label_text(r["majority_label"], r["majority_label_wkt"]),
            None if r["agreement"] is None else Decimal(str(r["agreement"])),
            None if r["difficulty"] is None else Decimal(str(r["difficulty"])),
            r["qualified_reads"],
            r["read_stats"]["total_reads"],
            utc(r["read_stats"]["last_read_at"]),
        )
        for r in sorted(truth, key=key)
    ]


def expect_cases_without_correct_label(truth: Truth, **_: Any) -> list[Row]:
    return [
        (r["task_id"], r["case_id"], r["labeling_state"])
        for r in sorted(truth, key=key)
        if r["correct_label"] is None and r["correct_label_wkt"] is None
    ]


def expect_votes_per_case(truth: Truth, **_: Any) -> list[Row]:
    return [
        (r["task_id"], r["case_id"], label, votes)
        for r in sorted(truth, key=key)
        for label, votes in sorted(r["counts"].items(), key=lambda lv: (-lv[1], lv[0]))
    ]


def expect_votes_per_task(truth: Truth, **_: Any) -> list[Row]:
    totals: dict[tuple[int, str], list[int]] = {}
    for r in truth:
        for label, votes in r["counts"].items():
            entry = totals.setdefault((r["task_id"], label), [0, 0])
            entry[0] += votes
            entry[1] += 1
    return [
        (task_id, label, votes, cases)
        for (task_id, label), (votes, cases) in sorted(
            totals.items(), key=lambda item: (item[0][0], -item[1][0], item[0][1])
        )
    ]


def expect_content(truth: Truth, **_: Any) -> list[Row]:
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


def expect_changed_since(truth: Truth, changed: set[tuple[int, int]], **_: Any) -> list[Row]:
    return [
        (r["task_id"], r["case_id"], r["labeling_state"])
        for r in sorted(truth, key=key)
        if key(r) in changed
    ]


def expect_read_since(truth: Truth, reread: set[tuple[int, int]], **_: Any) -> list[Row]:
    return [
        (r["task_id"], r["case_id"], utc(r["read_stats"]["last_read_at"]))
        for r in sorted(truth, key=key)
        if key(r) in reread
    ]


def expect_case_labels_v2(truth: Truth, truth_v2: Truth, **_: Any) -> list[Row]:
    return [
        (
            r["task_id"],
            r["case_id"],
            r["task_name"],
            r["task_type"],
            r["content_type"],
            r["labeling_state"],
            r["n_qualified_opinions"],
            len(r["results"]),
        )
        for r in sorted(truth_v2, key=key)
    ]


def expect_content_v2(truth: Truth, truth_v2: Truth, **_: Any) -> list[Row]:
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
        )
        for r in sorted(truth_v2, key=key)
        for position, item in enumerate(r["results"], start=1)
    ]


def expect_result_fields(truth: Truth, truth_v2: Truth, **_: Any) -> list[Row]:
    fields = Counter(
        (r["task_id"], name) for r in truth_v2 for item in r["results"] for name in item
    )
    return [(task_id, name, count) for (task_id, name), count in sorted(fields.items())]


def labeling_states(truth: Truth, truth_v2: Truth) -> list[Row]:
    """Every case, v1 and v2, as the `labeling_states` view gives it (without extracted_at)."""
    v1 = [(r, r["qualified_reads"], "v1") for r in truth]
    v2 = [(r, r["n_qualified_opinions"], "v2") for r in truth_v2]
    return [
        (r["task_id"], r["case_id"], r["task_name"], r["task_type"], r["labeling_state"], q, api)
        for r, q, api in sorted(v1 + v2, key=lambda entry: key(entry[0]))
    ]


def expect_labeling_states(truth: Truth, truth_v2: Truth, **_: Any) -> list[Row]:
    return labeling_states(truth, truth_v2)


def expect_states_per_task(truth: Truth, truth_v2: Truth, **_: Any) -> list[Row]:
    cases = Counter(
        (task_id, name, api, state)
        for task_id, _, name, _, state, _, api in labeling_states(truth, truth_v2)
    )
    return [
        (*group, count) for group, count in sorted(cases.items(), key=lambda g: (g[0][0], g[0][3]))
    ]


#: Each check: the rows the block must return (some drop columns the simulator cannot know).
CHECKS: dict[str, Callable[..., list[Row]]] = {
    "case_labels": expect_case_labels,
    "cases_without_correct_label": expect_cases_without_correct_label,
    "votes_per_case": expect_votes_per_case,
    "votes_per_task": expect_votes_per_task,
    "content": expect_content,
    "task_quality": expect_task_quality,
    "changed_since": expect_changed_since,
    "read_since": expect_read_since,
    "case_labels_v2": expect_case_labels_v2,
    "content_v2": expect_content_v2,
    "result_fields": expect_result_fields,
    "labeling_states": expect_labeling_states,
    "states_per_task": expect_states_per_task,
}
#: Blocks whose rows end with a column of the tap's clock (`extracted_at`): compared without it.
ENDS_WITH_EXTRACTED_AT = {"case_labels", "changed_since", "case_labels_v2", "labeling_states"}
#: The v2-only tasks (v1 answers 426): one polygon task, and a choice task (so prelabels) with
#: an undocumented field (`review_notes`, on every other task).
V2_TASKS = (104, 105)


@dataclass
class Warehouse:
    """What two syncs loaded, and what the simulator saw of them."""

    sim: Simulator
    meltano: Meltano
    postgres: Postgres
    #: The latest _sdc_extracted_at of the first sync, in task_results and task_results_v2.
    since: datetime
    since_v2: datetime
    #: v1 cases changed between the syncs (`reread`: those with a new read).
    changed: set[tuple[int, int]]
    reread: set[tuple[int, int]]
    changed_v2: set[tuple[int, int]]
    #: The `case_ids` entries (one case of each task).
    picked: list[tuple[int, int]]
    stats: tuple[dict[str, Any], dict[str, Any]]
    #: The parameters of the first-page requests to results v2 of the second sync.
    second_v2_pages: list[dict[str, str]]
    second_v1_tasks: set[int]

    def truth(self) -> Truth:
        """The v1 case results (of the tasks v1 serves), as the tap emits them."""
        v1 = [r for r in self.sim.truth() if r["task_id"] not in V2_TASKS]
        return as_emitted(v1, CASE_RESULT_SCHEMA)

    def truth_v2(self) -> Truth:
        """The v2 items of the v2-only tasks."""
        return [r for task_id in V2_TASKS for r in self.sim.truth_v2(task_id)]


@pytest.fixture(scope="module")
def warehouse(
    meltano_bin: str, pg_settings: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Warehouse]:
    """Two syncs of three v1 tasks and two v2-only ones into PostgreSQL, in discovery mode."""
    config = SimConfig(
        port=0,
        tasks=4,
        first_task_id=101,
        cases=(60, 60, 60, 40),
        seed=7,
        unsupported_task_ids=(104,),
        record_requests=True,
    )
    with Simulator(config) as sim:
        assert sim.add_task(cases=30, task_type="choice", unsupported=True) == 105
        meltano = meltano_for(meltano_bin, sim, Path(tmp_path_factory.mktemp("warehouse")))
        with schema_for(pg_settings, meltano) as postgres:
            yield sync_twice(sim, meltano, postgres)


def sync_twice(sim: Simulator, meltano: Meltano, postgres: Postgres) -> Warehouse:
    meltano.env["TAP_CENTAUR_TASK_IDS"] = "[]"  # discovery: every task the API lists
    # One case of each task is also fetched alone into case_results(_v2): the views merge them.
    picked = [(t, sim.truth_v2(t)[0]["case_id"]) for t in sim.task_ids()]
    meltano.env["TAP_CENTAUR_CASE_IDS"] = json.dumps(
        [{"task_id": t, "case_id": c} for t, c in picked]
    )
    meltano("run", "tap-centaur", "target-postgres")
    first_stats = sim.stats()
    since = postgres.scalar("SELECT max(_sdc_extracted_at) FROM {schema}.task_results")
    since_v2 = postgres.scalar("SELECT max(_sdc_extracted_at) FROM {schema}.task_results_v2")

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
    sim.reset_stats()
    meltano("run", "tap-centaur", "target-postgres")
    return Warehouse(
        sim=sim,
        meltano=meltano,
        postgres=postgres,
        since=since,
        since_v2=since_v2,
        changed=changed,
        reread=reread,
        changed_v2=changed_v2,
        picked=picked,
        stats=(first_stats, sim.stats()),
        second_v2_pages=first_pages(sim, RESULTS_V2),
        second_v1_tasks=set(first_pages_per_task(sim, RESULTS_V1)),
    )


def test_every_query_of_the_warehouse_doc(warehouse: Warehouse) -> None:
    blocks = sql_blocks()
    assert {name for name, _ in blocks} == set(CHECKS)
    postgres = warehouse.postgres
    truth, truth_v2 = warehouse.truth(), warehouse.truth_v2()
    assert {r["task_type"] for r in truth} == {"choice", "box"}
    v1_picked = [p for p in warehouse.picked if p[0] not in V2_TASKS]
    assert postgres.scalar("SELECT count(*) FROM {schema}.case_results") == len(v1_picked)
    # The document's claims: a label's columns are SQL NULL when it is not of their shape (both
    # shapes are there); a JSON null in a jsonb column is not SQL NULL.
    for field in ("correct_label", "correct_label_wkt"):
        assert any(r[field] for r in truth), field
        sql = f"SELECT count(*) FROM {{schema}}.task_results WHERE {field} IS NULL"
        nulls = postgres.scalar(sql)
        assert nulls == sum(r[field] is None for r in truth), field
    assert not any("undocumented_fields" in r for r in truth)
    sql_nulls = "SELECT count(*) FROM {schema}.task_results WHERE undocumented_fields IS NULL"
    assert postgres.scalar(sql_nulls) == 0
    # The v2 data has what the v2 queries need to show: prelabels, and fields beyond them.
    assert any(item["prelabel"] for r in truth_v2 for item in r["results"])
    assert any(len(r["results"]) > 1 for r in truth_v2)

    with postgres.connection.cursor() as cursor:
        cursor.execute(f'SET search_path TO "{postgres.schema}"')
    since_text = warehouse.since.isoformat(sep=" ")
    failures = []
    for name, sql in blocks:
        statement = sql.replace(EXTRACTED_SINCE, f"'{since_text}'").replace(
            READ_SINCE, f"'{since_text}+00'"
        )
        if name in ("changed_since", "read_since"):
            assert statement != sql, f"{name}: the date literal is no longer in the block"
        if statement.lstrip().upper().startswith("CREATE VIEW"):
            with postgres.connection.cursor() as cursor:
                cursor.execute(statement)
            statement = f"SELECT * FROM {name} ORDER BY task_id, case_id"
        with postgres.connection.cursor() as cursor:
            cursor.execute(statement)
            rows = [tuple(row) for row in cursor.fetchall()]
        if name in ENDS_WITH_EXTRACTED_AT:
            assert all(isinstance(row[-1], datetime) for row in rows), name
            rows = [row[:-1] for row in rows]
        expected = CHECKS[name](
            truth, truth_v2=truth_v2, changed=warehouse.changed, reread=warehouse.reread
        )
        if rows != expected:
            diff = [(a, b) for a, b in zip(rows, expected, strict=False) if a != b][:3]
            failures.append(
                f"{name}: {len(rows)} rows, expected {len(expected)}; first differences: {diff}"
            )
    assert not failures, "\n".join(failures)


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

    # task_results_v2: its own table, the v2 schema, keyed like v1.
    assert postgres.primary_key("task_results_v2") == ["task_id", "case_id"]
    types = postgres.column_types("task_results_v2")
    for name in ("task_id", "case_id", "project_id", "n_qualified_opinions"):
        assert types[name] == "int8", (name, types[name])
    assert (types["results"], types["undocumented_fields"]) == ("_jsonb", "jsonb")
    assert not {"correct_label", "counts", "read_stats"} & set(types)
    truth_v2 = warehouse.truth_v2()
    assert_v2_rows(postgres.rows("task_results_v2"), truth_v2)
    resent = postgres.all(
        "SELECT task_id, case_id FROM {schema}.task_results_v2 WHERE _sdc_extracted_at > %s",
        (warehouse.since_v2,),
    )
    assert set(resent) == warehouse.changed_v2
    # No v2 task in the v1 tables.
    assert not postgres.scalar(
        "SELECT count(*) FROM {schema}.task_results WHERE task_id = ANY(%s)", (list(V2_TASKS),)
    )

    # case_ids entries of v2 tasks land in case_results_v2, as v2 items.
    assert postgres.primary_key("case_results_v2") == ["task_id", "case_id"]
    picked_v2 = {p for p in warehouse.picked if p[0] in V2_TASKS}
    assert_v2_rows(postgres.rows("case_results_v2"), [r for r in truth_v2 if key(r) in picked_v2])
