"""Every SQL block of docs/WAREHOUSE.md, against tables a real `meltano run` loaded.

Two syncs into PostgreSQL (the second after cases changed on the simulator), then each block of
the document runs as written, after `SET search_path` to the test's schema, and its rows are
compared with what the simulator's data says they must be. A block without a `check:` marker,
or a marker without a check here, fails the test. The two date literals of the "changed since"
queries are replaced by the time between the syncs.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from centaur_sim import SimConfig, Simulator
from tests.e2e.conftest import ROOT, Meltano, Postgres

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


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """Three tasks: two choice tasks and a box task (WKT labels), 60 cases each."""
    config = SimConfig(port=0, tasks=3, first_task_id=101, cases=(60, 60, 60), seed=7)
    with Simulator(config) as simulator:
        yield simulator


def key(record: dict[str, Any]) -> tuple[int, int]:
    return int(record["task_id"]), int(record["case_id"])


def label_text(label: Any) -> str | None:
    if label is None:
        return None
    return ", ".join(label) if isinstance(label, list) else str(label)


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
            label_text(r["correct_label"]),
            label_text(r["majority_label"]),
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
        if r["correct_label"] is None
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
}
#: Blocks whose rows end with a column of the tap's clock (`extracted_at`): compared without it.
ENDS_WITH_EXTRACTED_AT = {"case_labels", "changed_since"}


def test_every_query_of_the_warehouse_doc(
    meltano: Meltano, postgres: Postgres, sim: Simulator
) -> None:
    blocks = sql_blocks()
    assert {name for name, _ in blocks} == set(CHECKS)

    # One case of each task is also fetched alone into case_results: the view merges both.
    picked = [(t, sim.truth(t)[0]["case_id"]) for t in sim.task_ids()]
    meltano.env["TAP_CENTAUR_CASE_IDS"] = json.dumps(
        [{"task_id": t, "case_id": c} for t, c in picked]
    )
    meltano("run", "tap-centaur", "target-postgres")
    since = postgres.scalar("SELECT max(_sdc_extracted_at) FROM {schema}.task_results")

    # Between the syncs: new reads for some cases (at a whole second after `since`, as
    # read_stats keeps whole seconds), a labeling state set on another without a read.
    at = float(math.floor(time.time()) + 1)
    reread = {(101, c) for c in sim.update_cases(101, count=4, rng_seed=1, at=at)}
    reread |= {(103, c) for c in sim.update_cases(103, count=3, rng_seed=2, at=at)}
    untouched = [r for r in sim.truth(102) if r["labeling_state"] != "Gold Standard"]
    sim.set_labeling_state(102, untouched[0]["case_id"], "Gold Standard", at=at)
    changed = reread | {(102, untouched[0]["case_id"])}
    meltano("run", "tap-centaur", "target-postgres")

    truth = sim.truth()
    assert {r["task_type"] for r in truth} == {"choice", "box"}
    assert postgres.scalar("SELECT count(*) FROM {schema}.case_results") == len(picked)
    # The document's claim: JSON null is not SQL NULL in the loaded table.
    assert any(r["correct_label"] is None for r in truth)
    assert (
        postgres.scalar("SELECT count(*) FROM {schema}.task_results WHERE correct_label IS NULL")
        == 0
    )

    postgres.connection.execute(f'SET search_path TO "{postgres.schema}"')
    since_text = since.isoformat(sep=" ")
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
        expected = CHECKS[name](truth, changed=changed, reread=reread)
        if rows != expected:
            diff = [(a, b) for a, b in zip(rows, expected, strict=False) if a != b][:3]
            failures.append(
                f"{name}: {len(rows)} rows, expected {len(expected)}; first differences: {diff}"
            )
    assert not failures, "\n".join(failures)
