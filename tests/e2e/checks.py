"""What the end-to-end tests compare: loaded rows with the simulator's data (`sim.truth()`), the
requests it recorded (`record_requests`), METRIC lines in a Meltano log, stored bookmarks."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Collection
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from centaur_sim import Simulator
from tap_centaur.schemas import CASE_RESULT_SCHEMA
from tests.e2e.conftest import Postgres, by_key
from tests.harness.checks import as_emitted

Rows = dict[tuple[int, int], dict[str, Any]]
RESULTS_V1 = "/results/public/v1/list"
RESULTS_V2 = "/results/public/v2/list"
METRIC = re.compile(r"METRIC: (\{.*\})\s*$")


def truth_by_key(sim: Simulator, task_ids: Collection[int] | None = None) -> Rows:
    """The simulator's v1 case results (of `task_ids`, or all) as the tap emits them."""
    emitted = as_emitted(sim.truth(), CASE_RESULT_SCHEMA)
    return by_key(r for r in emitted if task_ids is None or r["task_id"] in task_ids)


def same(stored: Any, emitted: Any) -> bool:
    """Whether a stored value is the emitted one: JSON text or JSON, numbers of any width."""
    if isinstance(stored, str) and isinstance(emitted, dict | list):
        stored = json.loads(stored)
    if isinstance(stored, Decimal | float) and type(emitted) in (int, float):
        return float(stored) == float(emitted)
    return bool(stored == emitted) and type(stored) is type(emitted)


def assert_rows_match(rows: Rows, truth: Rows, schema: dict[str, Any] = CASE_RESULT_SCHEMA) -> None:
    """The table (or file) holds exactly the cases of `truth`, each field as the tap emits it
    (a field the row lacks: null)."""
    assert set(rows) == set(truth)
    for key, expected in truth.items():
        for name in schema["properties"]:
            stored, value = rows[key].get(name), expected.get(name)
            assert same(stored, value), (key, name, stored, value)


def read_jsonl(path: Path) -> Rows:
    """The records target-jsonl wrote, each case once."""
    return by_key(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())


def first_pages(sim: Simulator, path: str = RESULTS_V1) -> list[dict[str, str]]:
    """The parameters of each recorded first-page request to `path` (no `last_sequence_id`):
    one per partition a run read."""
    pages = []
    for request in sim.requests():
        params = {k: v[-1] for k, v in parse_qs(request["query"]).items()}
        if request["path"] == path and "last_sequence_id" not in params:
            pages.append(params)
    return pages


def first_pages_per_task(sim: Simulator, path: str = RESULTS_V1) -> Counter[int]:
    """How many times each task's reading started (its first page was asked for)."""
    return Counter(int(params["task_id"]) for params in first_pages(sim, path))


def record_counts(log: str) -> Counter[str]:
    """Records the tap emitted per stream, from the SDK's `record_count` METRIC lines."""
    counts: Counter[str] = Counter()
    for found in filter(None, map(METRIC.search, log.splitlines())):
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
        sql = f"SELECT count(*) FROM {{schema}}.{table} WHERE _sdc_deleted_at IS NOT NULL"
        assert postgres.scalar(sql) == 0, f"rows of {table} marked deleted"
