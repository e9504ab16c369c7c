"""`scripts/bench.py --quick` runs end to end and reports every measurement (no speed asserted)."""

from __future__ import annotations

import json
import re
import sys

import pytest

from tests.test_docs import run

#: Not in `make test`: about 15 s of a dozen tap, floor-client and simulator processes that
#: test the benchmark, not the tap. `make bench-smoke` runs it, and so does .ci/run.
pytestmark = pytest.mark.bench

ROW_LABELS = (
    "CPU, 3,000 records",
    "startup (empty sync)",
    "wall, max_parallel_tasks 1",
    "wall, max_parallel_tasks 8",
    "reference: floor client, 8 threads",
    "peak RSS, 1,000 records",
    "peak RSS, 10,000 records",
    "STATE bytes, 50 tasks",
    "CPU, 50 tasks vs 10",
    "wall as run, 8 tasks x 3 pages",
)
#: The header rows of the two tables, cells joined by "|".
HEADER = "measurement|tap-centaur|limit / reference|ratio|target"
SCALE_HEADER = "tasks|wall s|CPU s|CPU ms/task|peak RSS MB|STATE msgs|STATE bytes|final STATE bytes"
SCALE_HEADER += "|total/final|INFO lines"


def cells(line: str) -> str:
    return re.sub(r"\s*\|\s*", "|", line.strip())


def test_quick_bench_prints_the_table_and_writes_the_json(tmp_path):
    out = tmp_path / "bench.json"
    done = run(
        sys.executable, "scripts/bench.py", "--quick", "--out", str(out), timeout=240, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("tap-centaur benchmark") and lines[1].startswith("machine: ")
    assert cells(next(line for line in lines if line.startswith("measurement "))) == HEADER
    scale_at = lines.index(next(line for line in lines if line.startswith("tasks ")))
    rows = [line.split("|")[0].strip() for line in lines[:scale_at] if "|" in line]
    assert rows[1:] == list(ROW_LABELS)
    assert cells(lines[scale_at]) == SCALE_HEADER
    sizes = [line.split("|")[0].strip() for line in lines[scale_at + 2 :] if "|" in line]
    assert sizes == ["10", "50", "100"]

    results = json.loads(out.read_text())
    scale, user = results["scale"], results["user_wall"]
    verdicts = [results[name] for name in ("cpu", "latency", "memory")] + [user]
    verdicts += [scale["state_target"], scale["cpu_target"]]
    assert all(set(verdict) >= {"ratio", "target", "met"} for verdict in verdicts)
    assert (results["cpu"]["records"], results["memory"]["large"]["records"]) == (3000, 10_000)
    assert (results["latency"]["pages_per_task"], results["latency"]["floor"]["threads"]) == (3, 8)
    assert results["machine"]["cores"] >= 1
    assert len(results["cpu"]["tap"]["runs"]) == results["plan"]["repeat"] == 1
    assert scale["sizes"] == [10, 50, 100]
    for size in scale["sizes"]:
        median = scale["by_size"][str(size)]["median"]
        # Every STATE is counted, the final one among them; each holds every task's bookmark.
        assert median["state_messages"] >= 1 and median["info_lines"] >= 1
        assert median["state_bytes"] >= median["final_state_bytes"] > 40 * size
    assert (user["pages_per_task"], user["records"]) == (3, 8 * 300)
    assert [pair["first"] for pair in user["pairs"]] == ["tap", "floor"]
    assert user["ratio_spread"]["min"] <= user["ratio"] <= user["ratio_spread"]["max"]
