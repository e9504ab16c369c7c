"""`scripts/bench.py --quick` runs end to end and reports every measurement (no speed asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROW_LABELS = (
    "CPU, 3,000 records",
    "startup (empty sync)",
    "wall, max_parallel_tasks 1",
    "wall, max_parallel_tasks 8",
    "reference: floor client, 8 threads",
    "peak RSS, 1,000 records",
    "peak RSS, 10,000 records",
)


def test_quick_bench_prints_the_table_and_writes_the_json(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "scripts/bench.py", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("tap-centaur benchmark")
    assert lines[1].startswith("machine: ")
    header = next(line for line in lines if line.startswith("measurement "))
    assert [cell.strip() for cell in header.split("|")] == [
        "measurement",
        "tap-centaur",
        "limit / reference",
        "ratio",
        "target",
    ]
    rows = [line.split("|")[0].strip() for line in lines if "|" in line]
    assert rows[1:] == list(ROW_LABELS)

    results = json.loads(out.read_text())
    for name in ("cpu", "latency", "memory"):
        assert set(results[name]) >= {"ratio", "target", "met"}
    assert results["cpu"]["records"] == 3000
    assert results["memory"]["large"]["records"] == 10_000
    assert results["latency"]["pages_per_task"] == 3
    assert results["latency"]["floor"]["threads"] == 8
    assert results["machine"]["cores"] >= 1
    assert len(results["cpu"]["tap"]["runs"]) == results["plan"]["repeat"] == 1
