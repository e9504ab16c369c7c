"""What the end-to-end tests compare: loaded rows with the simulator's data, and what was asked.

Loaded rows against `sim.truth()`, the requests the simulator recorded (`record_requests`),
the tap's METRIC lines in a Meltano log, and bookmarks in a stored state.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from centaur_sim import Simulator
from tap_centaur.schemas import CASE_RESULT_SCHEMA
from tests.e2e.conftest import Postgres
from tests.harness.checks import as_emitted

Rows = dict[tuple[int, int], dict[str, Any]]

#: The compared values of each case: what the API returned must be what the table holds.
COMPARED = (
    "task_name",
    "project_id",
    "project_name",
    "task_type",
    "patch",
    "labeling_state",
    "qualified_reads",
    "content_metadata",
    "correct_label",
    "majority_label",
    "correct_label_wkt",
    "majority_label_wkt",
    "read_stats",
    "counts",
)
RESULTS_V1 = "/results/public/v1/list"
RESULTS_V2 = "/results/public/v2/list"
METRIC = re.compile(r"METRIC: (\{.*\})\s*$")


def truth_by_key(sim: Simulator, task_ids: set[int] | None = None) -> Rows:
    """The simulator's v1 case results (of `task_ids`, or all) as the tap emits them, by
    (task_id, case_id)."""
    return {
        (int(r["task_id"]), int(r["case_id"])): r
        for r in as_emitted(sim.truth(), CASE_RESULT_SCHEMA)
        if task_ids is None or r["task_id"] in task_ids
    }


def assert_rows_match(rows: Rows, truth: Rows) -> None:
    """The table holds exactly the cases of `truth`, each with the API's values."""
    assert set(rows) == set(truth)
    for key, expected in truth.items():
        row = rows[key]
        for name in COMPARED:
            assert row[name] == expected[name], (key, name, row[name], expected[name])
        for name in ("agreement", "difficulty"):
            if expected[name] is None:
                assert row[name] is None
            else:
                assert float(row[name]) == pytest.approx(float(expected[name]))


def assert_written_once_as_emitted(records: list[dict[str, Any]], truth: Rows) -> None:
    """Target-jsonl wrote each case of `truth` once, its documented fields as the tap emits."""
    keys = [(r["task_id"], r["case_id"]) for r in records]
    assert len(keys) == len(set(keys)), "a case was written twice"
    assert set(keys) == set(truth)
    for record, key in zip(records, keys, strict=True):
        assert {k: v for k, v in record.items() if k != "undocumented_fields"} == truth[key]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The records target-jsonl wrote to `path`."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def first_pages(sim: Simulator, path: str = RESULTS_V1) -> list[dict[str, str]]:
    """The parameters of each recorded first-page request to `path` (no `last_sequence_id`).

    One per partition a run read: a task read by two runs shows twice.
    """
    pages = []
    for request in sim.requests():
        if request["path"] != path:
            continue
        params = {k: v[-1] for k, v in parse_qs(request["query"]).items()}
        if "last_sequence_id" not in params:
            pages.append(params)
    return pages


def first_pages_per_task(sim: Simulator, path: str = RESULTS_V1) -> Counter[int]:
    """How many times each task's reading started (its first page was asked for)."""
    return Counter(int(params["task_id"]) for params in first_pages(sim, path))


def record_counts(log: str) -> Counter[str]:
    """Records the tap emitted per stream, from the SDK's `record_count` METRIC lines."""
    counts: Counter[str] = Counter()
    for line in log.splitlines():
        found = METRIC.search(line)
        if found:
            metric = json.loads(found.group(1))
            if metric.get("metric") == "record_count":
                counts[metric["tags"]["stream"]] += int(metric["value"])
    return counts


def bookmarks(state: dict[str, Any], stream: str = "task_results") -> dict[int, str]:
    """{task_id: replication_key_value} of a state stored by Meltano ({"singer_state": ...})."""
    partitions = state["singer_state"]["bookmarks"].get(stream, {}).get("partitions", [])
    return {int(p["context"]["task_id"]): p["replication_key_value"] for p in partitions}


def updated_after(bookmark: str) -> str:
    """The `updated_after` the tap sends for a bookmark (UTC, whole seconds, no offset)."""
    return datetime.fromisoformat(bookmark).strftime("%Y-%m-%dT%H:%M:%S")


def just_after(*bookmark_values: str) -> float:
    """An update time one second after the latest bookmark: the earliest change to read next."""
    return max(datetime.fromisoformat(b).timestamp() for b in bookmark_values) + 1.0


def activate_versions(output: str) -> int:
    """ACTIVATE_VERSION messages target-postgres received, from its closing summary."""
    found = re.search(r"(\d+) activate version messages", output)
    assert found, "target-postgres logged no summary"
    return int(found.group(1))


def assert_nothing_deleted(postgres: Postgres, *tables: str) -> None:
    """No row of `tables` is marked deleted (`_sdc_deleted_at`, set on ACTIVATE_VERSION)."""
    for table in tables:
        deleted = postgres.scalar(
            f"SELECT count(*) FROM {{schema}}.{table} WHERE _sdc_deleted_at IS NOT NULL"
        )
        assert deleted == 0, f"{deleted} rows of {table} marked deleted"
